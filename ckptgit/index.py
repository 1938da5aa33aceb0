"""The local index of checkpoints under ``.git/ckpt/``: a cache of git, never the truth.

It also applies the save half of the trust rules (DESIGN "Trust model"), because every reader
lists saves through it: an id belongs to the FIRST commit that introduced it, with a sidecar
whose id is the commit's ``Ckpt-Id`` and whose md5 is its ``.dvc`` pointer's. A later commit
reusing the id (a sidecar edited under a copied trailer) is a forged save: it is never listed,
shown, ranked or gated on, and ``forgeries`` reports it for verify and audit.

It records the HEAD it was built for. A newer HEAD that descends from it is caught up with one
``git log OLD..HEAD`` and one ``cat-file --batch``; anything else rebuilds from scratch. Deleting
the file is always safe.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ckptgit import loader, sidecar
from ckptgit.atomic import write_atomic
from ckptgit.errors import IntegrityError, UsageError
from ckptgit.git import Git
from ckptgit.model import Checkpoint

log = logging.getLogger(__name__)

VERSION = 2
TRAILERS = ("Ckpt-Id", "Ckpt-Name")


def _file(git: Git) -> Path:
    return git.ckpt_dir / f"index-v{VERSION}.json"


@dataclass(frozen=True)
class Forgery:
    """A commit that claims to be a save and is not the genuine one."""

    commit: str
    id: str
    name: str
    reason: str


def load(git: Git) -> list[Checkpoint]:
    """Every genuine checkpoint reachable from HEAD, in history order (newest first)."""
    return load_all(git)[0]


def forgeries(git: Git) -> list[Forgery]:
    """Commits reachable from HEAD that claim a save they are not (newest first)."""
    return load_all(git)[1]


def load_all(git: Git) -> tuple[list[Checkpoint], list[Forgery]]:
    head = git.head()
    if head is None:
        return [], []
    cached = _read(git)
    if cached is not None and cached[0] == head:
        return cached[1], cached[2]
    if cached is not None and git.is_ancestor(cached[0], head):
        new, forged = _scan(git, [f"{cached[0]}..{head}"])
        entries, more = _genuine(git, new + cached[1])
        forged = forged + more + cached[2]
    else:
        found, forged = _scan(git, [head])
        entries, more = _genuine(git, found)
        forged = forged + more
    _write(git, head, entries, forged)
    return entries, forged


def record(git: Git, old_head: str | None, new_head: str, ckpt: Checkpoint) -> None:
    """After a save: extend the index in place when it was current, so no rescan is needed."""
    cached = _read(git)
    if cached is not None and cached[0] == old_head and all(c.id != ckpt.id
                                                            for c in cached[1]):
        _write(git, new_head, [ckpt, *cached[1]], cached[2])


def _genuine(git: Git, entries: list[Checkpoint]) -> tuple[list[Checkpoint], list[Forgery]]:
    """Keep the first save of each id (entries come newest first); later ones are forged.

    Commit dates can lie, so when the list order disagrees with ancestry, ancestry wins.
    """
    first: dict[str, Checkpoint] = {}
    for c in reversed(entries):
        known = first.get(c.id)
        if known is None or git.is_ancestor(c.commit, known.commit):
            first[c.id] = c
    keep = {id(c) for c in first.values()}
    forged = [Forgery(c.commit, c.id, c.name, f"reuses the id of the save at "
                      f"{first[c.id].commit[:12]} (a copied Ckpt-Id trailer): not a save")
              for c in entries if id(c) not in keep]
    return [c for c in entries if id(c) in keep], forged


def _read(git: Git) -> tuple[str, list[Checkpoint], list[Forgery]] | None:
    """The index file, parsed once per process and state of the file (``resolve`` of two refs
    and the listing they are resolved in read it three times; 100,000 entries are ~1 s each)."""
    path = _file(git)
    try:
        st = path.stat()
        key = (str(path), st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        if key not in _READ:
            data = _loads(path.read_bytes())
            if data.get("version") != VERSION:
                return None
            _READ.clear()  # one repository's index at a time is enough
            _READ[key] = (data["head"], [Checkpoint.from_dict(e) for e in data["entries"]],
                          [Forgery(**f) for f in data["forged"]])
        head, entries, forged = _READ[key]
        return head, list(entries), list(forged)
    except (OSError, ValueError, KeyError, TypeError):
        return None


_READ: dict[tuple[str, int, int, int, int], tuple[str, list[Checkpoint], list[Forgery]]] = {}


def _loads(raw: bytes) -> Any:
    """orjson parses the index about 3x faster (47 MB at 100,000 saves); it refuses the NaN
    and Infinity tokens ``json.dumps`` writes for such metrics, so those files take the
    standard library's parser, which reads them back as they were written."""
    import orjson

    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)


def _write(git: Git, head: str, entries: list[Checkpoint], forged: list[Forgery]) -> None:
    path = _file(git)
    rows = []
    for e in entries:
        row = e.to_dict()
        row.pop("artifact", None)
        rows.append(row)
    # the temporary is unique per thread: background saves and a list may write at once
    write_atomic(path, json.dumps({"version": VERSION, "head": head, "entries": rows,
                                   "forged": [asdict(f) for f in forged]}))


def scan_commits(git: Git, commits: list[str]) -> tuple[list[Checkpoint], list[Forgery]]:
    """These commits alone, judged as saves (their ancestry is the caller's business)."""
    return _scan(git, ["--no-walk=unsorted", *commits])


def _scan(git: Git, revs: list[str]) -> tuple[list[Checkpoint], list[Forgery]]:
    commits = git.log_saves(revs, TRAILERS)
    specs: list[tuple[str, str] | None] = []
    for entry in commits:
        side = next((f for f in entry.files if f.endswith(sidecar.SUFFIX)), None)
        specs.append((f"{entry.commit}:{side}",
                      f"{entry.commit}:{side.removesuffix(sidecar.SUFFIX)}.dvc") if side else None)
    blobs = git.cat_files([p for s in specs if s for p in s])
    found, forged = [], []
    for entry, spec in zip(commits, specs, strict=True):
        raw = blobs.get(spec[0]) if spec else None
        if raw is None or spec is None:
            continue  # a commit that only mentions the trailer: not a save
        try:
            ckpt = Checkpoint.from_sidecar(_summary(raw, spec[0]), entry.commit)
        except IntegrityError as exc:
            if isinstance(exc.__cause__, loader.LimitError):  # hostile, not merely broken
                log.warning("commit %s: sidecar refused (%s); skipped", entry.commit[:12],
                            exc.__cause__)
            continue  # unreadable sidecars are verify's business, not list's
        except (KeyError, TypeError, ValueError):
            continue
        why = _not_a_save(entry.trailers.get("Ckpt-Id", ""), ckpt, blobs.get(spec[1]))
        if why is None:
            found.append(ckpt)
        else:
            forged.append(Forgery(entry.commit, ckpt.id, ckpt.name, why))
    return found, forged


def _not_a_save(trailer_id: str, ckpt: Checkpoint, pointer: bytes | None) -> str | None:
    """Why a commit whose sidecar says ``ckpt`` is not the save it claims, or None."""
    if trailer_id.split(",")[0].strip() != ckpt.id:
        return f"its Ckpt-Id trailer {trailer_id!r} is not its sidecar's id {ckpt.id}"
    if pointer is None:
        return f"it has no DVC pointer {ckpt.dvcfile}"
    from ckptgit import storage

    try:
        md5 = storage.parse_pointer(pointer).md5
    except IntegrityError:
        return f"its DVC pointer {ckpt.dvcfile} is unreadable"
    if md5 != ckpt.md5:
        return f"its sidecar's md5 {ckpt.md5} is not its pointer's {md5}"
    return None


# Top-level sections the index never reads and that hold nearly all of a sidecar's nodes
# (every installed package, every tensor). Building Python objects for them made a cold list
# of 10,000 checkpoints take 36 s; skipping them, about 2 s.
_UNREAD = (b"environment", b"tensors", b"code", b"distributions", b"slices")
_TOP_KEY = re.compile(rb"^([A-Za-z_]\w*):(?:[ \t]|$)", re.MULTILINE)
_FLUSH_LINE = re.compile(rb"\n[^ \t\n]")  # a line after the first that is not indented


def _summary(raw: bytes, what: str) -> dict[str, Any]:
    """The sidecar without its unread sections, or the whole of it when in any doubt."""
    trimmed = _trim(raw)
    if trimmed is not None:
        try:
            doc = sidecar.load(trimmed, what)
            if all(k in doc for k in ("id", "name", "created_at", "artifact")):
                return doc
        except (IntegrityError, UsageError):
            pass
    return sidecar.load(raw, what)


def _trim(raw: bytes) -> bytes | None:
    """Cut unread top-level sections out of a sidecar as ckptgit writes it (block style).

    Only when every line of a cut section is indented or blank, so a cut can never split a
    value; anything unusual (directives, flow style, comments at the top) returns None.
    """
    if not raw.startswith(b"schema_version:"):
        return None
    marks = [(m.start(), m.group(1)) for m in _TOP_KEY.finditer(raw)]
    kept, cut = [], False
    for (start, key), (end, _) in zip(marks, [*marks[1:], (len(raw), b"")], strict=True):
        section = raw[start:end]
        if key in _UNREAD and not _FLUSH_LINE.search(section):
            cut = True
            continue
        kept.append(section)
    return b"".join(kept) if cut else None
