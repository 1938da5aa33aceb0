"""Artifact paths given by users, confined to the repository."""

from __future__ import annotations

import os
from pathlib import Path

from ckptgit.errors import UsageError

_RESERVED = (".git", ".dvc", ".ckpt")


def artifact_path(root: Path, given: str | os.PathLike[str], cwd: Path | None = None,
                  pinned: bool = False) -> str:
    """The repository-relative POSIX path of an existing artifact, or a clear refusal.

    Refuses paths that are missing, outside the repository (by ``..`` or through a symlink),
    inside git's, DVC's or ckptgit's own folders, or the repository root itself. ``pinned``:
    ``given`` was resolved while it existed and its bytes are held elsewhere (a background save
    of a file the training loop has since deleted), so it need not exist any more.
    """
    raw = Path(given)
    base = cwd or Path.cwd()
    literal = Path(os.path.normpath(raw if raw.is_absolute() else base / raw))
    if not pinned and not literal.exists() and not literal.is_symlink():
        raise UsageError(f"{given}: no such file or directory")
    real = literal.resolve()
    root = root.resolve()
    if not _inside(literal, root) and not _inside(real, root):
        raise UsageError(f"{given} is outside the repository {root}")
    if not _inside(real, root):
        raise UsageError(f"{given} leads outside the repository through a symlink")
    rel = real.relative_to(root)
    if not rel.parts:
        raise UsageError("the repository root itself cannot be a checkpoint artifact")
    if rel.parts[0] in _RESERVED:
        raise UsageError(f"{given} is inside {rel.parts[0]}/, which ckptgit and DVC manage")
    if rel.name.endswith((".dvc", ".ckpt.yaml")):
        raise UsageError(f"{given} is a ckptgit/DVC metadata file, not an artifact")
    return rel.as_posix()


def in_repo(root: Path, rel: str) -> Path:
    """An absolute path for a repository-relative one, refusing anything that escapes."""
    path = (root / rel).resolve()
    if not _inside(path, root.resolve()):
        raise UsageError(f"{rel} resolves outside the repository")
    return path


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents
