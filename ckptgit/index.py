"""The local index of checkpoints under ``.git/ckpt/``: a cache of git, never the truth.

It records the HEAD it was built for. A newer HEAD that descends from it is caught up with one
``git log OLD..HEAD`` and one ``cat-file --batch``; anything else rebuilds from scratch. Deleting
the file is always safe.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ckptgit import sidecar
from ckptgit.errors import IntegrityError
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
    try:
        data = json.loads(_file(git).read_bytes())
        if data.get("version") != VERSION:
            return None
        return data["head"], [Checkpoint.from_dict(e) for e in data["entries"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write(git: Git, head: str, entries: list[Checkpoint]) -> None:
    path = _file(git)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    rows = []
    for e in entries:
        row = e.to_dict()
        row.pop("artifact", None)
        rows.append(row)
    tmp.write_text(json.dumps({"version": VERSION, "head": head, "entries": rows}))
    os.replace(tmp, path)


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
            doc = sidecar.load(raw, spec or "sidecar")
            found.append(Checkpoint.from_sidecar(doc, entry.commit))
        except (IntegrityError, KeyError, TypeError, ValueError):
            continue  # unreadable sidecars are verify's business, not list's
    return found
