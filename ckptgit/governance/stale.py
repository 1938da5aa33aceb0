"""Staged record files that would undo a save.

A save moves the branch first and updates the user's index afterwards; a save killed in
between leaves the previous pointer and sidecar staged (or none, for a first save). The user's
next plain ``git commit`` would then silently revert the checkpoint. Checkpoint records change
only through ``git ckpt save`` (labels and notes excepted), so a staged pointer or sidecar that
differs from HEAD's, where HEAD's was written by a save, is refused by the pre-commit hook and
repaired by ``git ckpt fsck --repair``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ckptgit import sidecar
from ckptgit.errors import CkptError
from ckptgit.git import Git

POINTER_SUFFIX = ".dvc"


@dataclass(frozen=True)
class Revert:
    path: str
    head_id: str  # the checkpoint id HEAD's record belongs to ("" when unknown)
    deleted: bool


def is_record(path: str) -> bool:
    return path.endswith((POINTER_SUFFIX, sidecar.SUFFIX))


def staged_changes(git: Git) -> dict[str, str | None]:
    """Record paths whose staged version differs from HEAD's: path -> staged blob (None when
    the index lacks it)."""
    if git.head() is None:
        return {}
    raw = git.out(["diff", "--cached", "--raw", "-z", "--no-renames", "--no-abbrev", "HEAD",
                   "--", "*.dvc", f"*{sidecar.SUFFIX}"])
    fields = raw.split("\0")
    found: dict[str, str | None] = {}
    for meta, path in zip(fields[0::2], fields[1::2], strict=False):
        parts = meta.split()
        if len(parts) == 5 and is_record(path):
            found[path] = None if parts[4] == "D" else parts[3]
    return found


def reverts(git: Git, changed: Mapping[str, str | None]) -> list[Revert]:
    """Which staged record changes would rewrite a saved checkpoint's record."""
    records = {p: b for p, b in changed.items() if is_record(p)}
    if not records:
        return []
    head = git.cat_files([f"HEAD:{p}" for p in records]
                         + [b for b in records.values() if b is not None])
    found = []
    for path, blob in records.items():
        old = head.get(f"HEAD:{path}")
        if old is None:
            continue  # new in this commit: nothing saved to revert
        if path.endswith(sidecar.SUFFIX):
            old_id, new_id = _id(old), _id(head.get(blob) if blob else None)
            if blob is not None and old_id is not None and old_id == new_id:
                continue  # an annotation edit of the same checkpoint: checked elsewhere
            found.append(Revert(path, old_id or "", blob is None))
        elif (save_id := _saved_by(git, path)) is not None:
            found.append(Revert(path, save_id, blob is None))
    return found


def _id(raw: bytes | None) -> str | None:
    if raw is None:
        return None
    try:
        value = sidecar.load(raw, "sidecar").get("id")
    except CkptError:
        return None
    return str(value) if value is not None else None


def _saved_by(git: Git, path: str) -> str | None:
    """The checkpoint id of the save that last wrote ``path`` in HEAD, if a save did."""
    out = git.out(["log", "-1", "--format=%(trailers:key=Ckpt-Id,valueonly)", "HEAD", "--",
                   path]).strip()
    return out or None


def message(r: Revert) -> str:
    what = f"checkpoint {r.head_id[:8]}'s record" if r.head_id else "a checkpoint's record"
    change = "removes" if r.deleted else "replaces"
    return (f"{r.path}: this commit {change} {what} as HEAD has it, which would revert a save "
            "(an interrupted save leaves its files unstaged): run 'git ckpt fsck --repair', "
            f"or 'git restore --staged --worktree -- {r.path}'")
