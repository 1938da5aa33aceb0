"""The local index of checkpoints under ``.git/ckpt/``: a cache of git, never the truth.

It records the HEAD it was built for. A newer HEAD that descends from it is caught up with one
``git log OLD..HEAD`` and one ``cat-file --batch``; anything else rebuilds from scratch. Deleting
the file is always safe.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ckptgit import sidecar
from ckptgit.atomic import write_atomic
from ckptgit.errors import IntegrityError, UsageError
from ckptgit.git import Git
from ckptgit.model import Checkpoint

VERSION = 1
TRAILERS = ("Ckpt-Id", "Ckpt-Name")


def _file(git: Git) -> Path:
    return git.ckpt_dir / f"index-v{VERSION}.json"


def load(git: Git) -> list[Checkpoint]:
    """Every checkpoint reachable from HEAD, in history order (newest first)."""
    head = git.head()
    if head is None:
        return []
    cached = _read(git)
    if cached is not None and cached[0] == head:
        return cached[1]
    if cached is not None and git.is_ancestor(cached[0], head):
        entries = _scan(git, [f"{cached[0]}..{head}"]) + cached[1]
    else:
        entries = _scan(git, [head])
    _write(git, head, entries)
    return entries


def record(git: Git, old_head: str | None, new_head: str, ckpt: Checkpoint) -> None:
    """After a save: extend the index in place when it was current, so no rescan is needed."""
    cached = _read(git)
    if cached is not None and cached[0] == old_head:
        _write(git, new_head, [ckpt, *cached[1]])


def _read(git: Git) -> tuple[str, list[Checkpoint]] | None:
    """The index file, parsed once per process and state of the file (``resolve`` of two refs
    and the listing they are resolved in read it three times; 100,000 entries are ~1 s each)."""
    path = _file(git)
    try:
        st = path.stat()
        key = (str(path), st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        if key not in _READ:
            data = json.loads(path.read_bytes())
            if data.get("version") != VERSION:
                return None
            _READ.clear()  # one repository's index at a time is enough
            _READ[key] = (data["head"], [Checkpoint.from_dict(e) for e in data["entries"]])
        head, entries = _READ[key]
        return head, list(entries)
    except (OSError, ValueError, KeyError, TypeError):
        return None


_READ: dict[tuple[str, int, int, int, int], tuple[str, list[Checkpoint]]] = {}


def _write(git: Git, head: str, entries: list[Checkpoint]) -> None:
    path = _file(git)
    rows = []
    for e in entries:
        row = e.to_dict()
        row.pop("artifact", None)
        rows.append(row)
    # the temporary is unique per thread: background saves and a list may write at once
    write_atomic(path, json.dumps({"version": VERSION, "head": head, "entries": rows}))


def _scan(git: Git, revs: list[str]) -> list[Checkpoint]:
    commits = git.log_saves(revs, TRAILERS)
    specs = []
    for entry in commits:
        side = next((f for f in entry.files if f.endswith(sidecar.SUFFIX)), None)
        specs.append(f"{entry.commit}:{side}" if side else None)
    blobs = git.cat_files([s for s in specs if s])
    found = []
    for entry, spec in zip(commits, specs, strict=True):
        raw = blobs.get(spec) if spec else None
        if raw is None:
            continue  # a commit that only mentions the trailer: not a save
        try:
            found.append(Checkpoint.from_sidecar(_summary(raw, spec or "sidecar"), entry.commit))
        except (IntegrityError, KeyError, TypeError, ValueError):
            continue  # unreadable sidecars are verify's business, not list's
    return found


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
