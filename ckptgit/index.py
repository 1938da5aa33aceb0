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

from ckptgit import loader, sidecar, sidecar_keys
from ckptgit.atomic import write_atomic
from ckptgit.errors import IntegrityError
from ckptgit.git import Git, LogEntry
from ckptgit.model import Checkpoint
from ckptgit.saves import FIELDS, Saves, well_typed

log = logging.getLogger(__name__)

# 3: one list per field (``saves.FIELDS``) instead of one object per save
VERSION = 3
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
    return list(load_all(git)[0])


def saves(git: Git) -> Saves:
    """``load`` as columns: rows are built only as they are read (listings, references)."""
    return load_all(git)[0]


def forgeries(git: Git) -> list[Forgery]:
    """Commits reachable from HEAD that claim a save they are not (newest first)."""
    return load_all(git)[1]


def load_all(git: Git) -> tuple[Saves, list[Forgery]]:
    head = git.head()
    if head is None:
        return Saves.of([]), []
    cached = _read(git)
    if cached is not None and cached[0] == head:
        return cached[1], list(cached[2])
    if cached is not None and git.is_ancestor(cached[0], head):
        entries, forged = _extend(git, _scan(git, [f"{cached[0]}..{head}"]), cached[1])
        forged += cached[2]
    else:
        found, forged = _scan(git, [head])
        kept, more = _genuine(git, found)
        entries, forged = Saves.of(kept), forged + more
    _write(git, head, entries, forged)
    return entries, forged


def _extend(git: Git, scanned: tuple[list[Checkpoint], list[Forgery]],
            cached: Saves) -> tuple[Saves, list[Forgery]]:
    """The saves of ``OLD..HEAD`` on top of OLD's. None of those commits is an ancestor of
    OLD, so a cached save always keeps its id against them (as ``_genuine`` over both would
    decide), and the cached rows are never built."""
    new, forged = scanned
    first = dict(zip(cached.column("id"), cached.column("commit"), strict=True))
    clash = [c for c in new if c.id in first]
    forged += [_forgery(c, first[c.id]) for c in clash]
    kept, more = _genuine(git, [c for c in new if c.id not in first])
    fresh = Saves.of(kept)
    return Saves({f: fresh.column(f) + cached.column(f) for f in FIELDS}), forged + more


def record(git: Git, old_head: str | None, new_head: str, ckpt: Checkpoint) -> None:
    """After a save: extend the index in place when it was current, so no rescan is needed."""
    cached = _read(git)
    if cached is not None and cached[0] == old_head and ckpt.id not in cached[1].column("id"):
        one = Saves.of([ckpt])
        _write(git, new_head, Saves({f: one.column(f) + cached[1].column(f) for f in FIELDS}),
               cached[2])


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
    forged = [_forgery(c, first[c.id].commit) for c in entries if id(c) not in keep]
    return [c for c in entries if id(c) in keep], forged


def _forgery(c: Checkpoint, genuine_commit: str) -> Forgery:
    return Forgery(c.commit, c.id, c.name, f"reuses the id of the save at "
                   f"{genuine_commit[:12]} (a copied Ckpt-Id trailer): not a save")


def _read(git: Git) -> tuple[str, Saves, list[Forgery]] | None:
    """The index file, parsed once per process and state of the file (``resolve`` of two refs
    and the listing they are resolved in read it three times). Anything but an index this
    version wrote, every column of the right types and length, is None: rebuilt, not used."""
    path = _file(git)
    try:
        st = path.stat()
        key = (str(path), st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        if key not in _READ:
            parsed = _parse(_loads(path.read_bytes()))
            if parsed is None:
                return None
            _READ.clear()  # one repository's index at a time is enough
            _READ[key] = parsed
        return _READ[key]
    except (OSError, ValueError, KeyError, TypeError, RecursionError, MemoryError):
        return None


_READ: dict[tuple[str, int, int, int, int], tuple[str, Saves, list[Forgery]]] = {}
_OID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


def _parse(data: Any) -> tuple[str, Saves, list[Forgery]] | None:
    if type(data) is not dict or data.get("version") != VERSION:
        return None
    head, columns, forged = data["head"], data["columns"], data["forged"]
    if type(head) is not str or not _OID.fullmatch(head):  # it reaches git's command line
        return None
    if type(columns) is not dict or type(forged) is not list:
        return None
    if well_typed(columns) != data.get("count"):
        return None
    if not all(type(f) is dict and {type(v) for v in f.values()} <= {str} for f in forged):
        return None
    return head, Saves({f: columns[f] for f in FIELDS}), [Forgery(**f) for f in forged]


def _loads(raw: bytes) -> Any:
    """orjson parses the index several times faster than the standard library; it refuses
    the NaN and Infinity tokens ``json.dumps`` writes for such metrics, so those files take
    the standard library's parser, which reads them back as they were written."""
    import orjson

    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)


def _write(git: Git, head: str, entries: Saves, forged: list[Forgery]) -> None:
    columns = {f: entries.column(f) for f in FIELDS}
    # the temporary is unique per thread: background saves and a list may write at once
    write_atomic(_file(git), _dumps({
        "version": VERSION, "head": head, "count": len(entries), "columns": columns,
        "forged": [asdict(f) for f in forged]}, [columns["metrics"], columns["params"]]))


def _dumps(doc: dict[str, Any], floats: list[Any]) -> bytes:
    """orjson writes the index 7x faster than json.dumps (0.06 s against 0.4 at 100,000
    saves), but writes NaN and infinities as null. Only metrics and params can hold floats
    (the columns' types are checked), so when orjson's form of them holds no null, nothing
    was lost; otherwise (and for anything orjson refuses) the standard library writes it."""
    import orjson

    try:
        if b"null" not in orjson.dumps(floats):
            return orjson.dumps(doc)
    except (orjson.JSONEncodeError, TypeError, ValueError):
        pass
    return json.dumps(doc).encode()


def scan_commits(git: Git, commits: list[str]) -> tuple[list[Checkpoint], list[Forgery]]:
    """These commits alone, judged as saves (their ancestry is the caller's business)."""
    return _scan(git, ["--no-walk=unsorted", *commits])


def _scan(git: Git, revs: list[str]) -> tuple[list[Checkpoint], list[Forgery]]:
    """Save commits of ``revs``: one ``git log``, one ``cat-file --batch``, and the sidecars'
    rows read (``_rows``: the form ckptgit writes directly, any other by YAML on every core)."""
    commits = git.log_saves(revs, TRAILERS, blobs=True)
    specs = [_objects(entry) for entry in commits]
    blobs = git.cat_files(list(dict.fromkeys(p for s in specs if s for p in s[1:])))
    todo = [(entry, spec, raw) for entry, spec in zip(commits, specs, strict=True)
            if spec is not None and (raw := blobs.get(spec[1])) is not None]
    parsed = _rows([(raw, spec[0], entry.commit) for entry, spec, raw in todo])
    found, forged = [], []
    for (entry, spec, _), ckpt in zip(todo, parsed, strict=True):
        if isinstance(ckpt, str):
            log.warning("commit %s: sidecar refused (%s); skipped", entry.commit[:12], ckpt)
            continue
        if ckpt is None:
            continue  # unreadable sidecars are verify's business, not list's
        why = _not_a_save(entry.trailers.get("Ckpt-Id", ""), ckpt, blobs.get(spec[2]),
                          spec[0].partition(":")[2])
        if why is None:
            found.append(ckpt)
        else:
            forged.append(Forgery(entry.commit, ckpt.id, ckpt.name, why))
    return found, forged


def _objects(entry: LogEntry) -> tuple[str, str, str] | None:
    """A save commit's sidecar as messages name it, and the objects to read for the sidecar and
    its pointer: the blobs the log reports the commit wrote (read by id, no tree walk: half of
    ``cat-file``'s time at 100,000 saves), else ``commit:path``."""
    side = next((f for f in entry.files if f.endswith(sidecar.SUFFIX)), None)
    if side is None:
        return None
    pointer = side.removesuffix(sidecar.SUFFIX) + ".dvc"
    return (f"{entry.commit}:{side}", entry.blobs.get(side) or f"{entry.commit}:{side}",
            entry.blobs.get(pointer) or f"{entry.commit}:{pointer}")


def _rows(items: list[tuple[bytes, str, str]]) -> list[Checkpoint | str | None]:
    """``_summarize`` of every item. Sidecars in the form ckptgit writes are read here by
    ``sidecar_keys`` (about 0.05 ms each, less than shipping them to a worker); only the
    others are parsed as YAML, on every core."""
    fast = [sidecar_keys.row_keys(raw) for raw, _, _ in items]
    slow = iter(sidecar.parallel(_summarize, [x for x, doc in zip(items, fast, strict=True)
                                              if doc is None]))
    return [next(slow) if doc is None else _row(doc, commit)
            for (_, _, commit), doc in zip(items, fast, strict=True)]


def _row(doc: dict[str, Any], commit: str) -> Checkpoint | None:
    try:
        return _checked(Checkpoint.from_sidecar(doc, commit))
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def _summarize(item: tuple[bytes, str, str]) -> Checkpoint | str | None:
    """One sidecar as the index row it makes (in a worker process): None when unreadable,
    the reason when refused as hostile (the parent logs it: a worker's log is not shown)."""
    raw, what, commit = item
    try:
        return _checked(Checkpoint.from_sidecar(_summary(raw, what), commit))
    except IntegrityError as exc:
        if isinstance(exc.__cause__, loader.LimitError):  # hostile, not merely broken
            return str(exc.__cause__)
        return None
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def _checked(ckpt: Checkpoint) -> Checkpoint | None:
    """The row, when every field holds what the index may store (``saves.TYPES``)."""
    from ckptgit.saves import TYPES

    ok = all(type(getattr(ckpt, f)) in TYPES[f] for f in FIELDS)
    return ckpt if ok and all(type(x) is str for x in ckpt.labels) else None


def _not_a_save(trailer_id: str, ckpt: Checkpoint, pointer: bytes | None,
                side: str) -> str | None:
    """Why a commit whose sidecar ``side`` says ``ckpt`` is not the save it claims, or None.
    ``show`` and ``verify`` read the sidecar of the artifact the row names: a sidecar naming
    another artifact would list one record and show another."""
    if ckpt.sidecar_path != side:
        return f"its sidecar {side!r} names another artifact, {ckpt.path!r}"
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


def _summary(raw: bytes, what: str) -> dict[str, Any]:
    """The whole sidecar, as ``show`` and ``verify`` read it. Cutting unread sections out of
    the text first was faster, but a cut text can read otherwise (a quote opened in a cut
    section that closes on a later key line makes that line part of a string, not a key) or
    hide what the whole is refused for (an alias, a tag). ``sections``: the big sections an
    environment or a tensor summary repeat are parsed once per process, with the same result
    and errors as one parse of the whole (``yamlsafe.load_sections``)."""
    return sidecar.load(raw, what, sections=True)
