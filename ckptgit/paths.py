"""Artifact paths given by users, confined to the repository."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ckptgit.errors import IntegrityError, UsageError
from ckptgit.filenames import SIDECAR_SUFFIX

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
    if rel.name.endswith((".dvc", SIDECAR_SUFFIX)):
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


# -- hostile names and file types -------------------------------------------------------------
NAME_MAX = 255  # bytes in one path component on Linux filesystems (ext4, xfs, btrfs, tmpfs)
# the longest names ckptgit derives from an artifact's file name: ``NAME.ckpt.yaml`` and the
# ``.NAME.old-PID`` a restore of a directory moves aside
_DERIVED_SUFFIX = SIDECAR_SUFFIX
_DERIVED_ROOM = 16


def check_name_text(rel: str, what: str) -> None:
    """Refuse control characters (a newline splits records and trailers) and names whose
    derived files (``PATH.ckpt.yaml``, ``PATH.dvc``) the filesystem could not hold."""
    bad = next((c for c in rel if ord(c) < 32 or ord(c) == 127 or c in "\u2028\u2029\x85"),
               None)
    if bad is not None:
        raise UsageError(f"{what} {rel!r} holds the control character {bad!r}; rename it")
    leaf = rel.rsplit("/", 1)[-1]
    longest = len(leaf.encode("utf-8", "surrogateescape")) + _DERIVED_ROOM
    if longest > NAME_MAX:
        raise UsageError(f"{what} {leaf[:40]}… is too long: the files derived from it need "
                         f"{longest} bytes, over the filesystem's {NAME_MAX}; "
                         "shorten the name")


def check_tree(path: Path, what: str) -> int:
    """Refuse what a save must never read: symlinks inside a directory, FIFOs, sockets and
    devices (opening a FIFO blocks forever). Only ``lstat``: nothing here can block.

    Returns the number of regular files (0 for an empty directory).
    """
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode):
        _regular(path, st.st_mode, what)
        return 1
    count = 0
    for dirpath, dirnames, filenames in os.walk(path):
        for entry in [*dirnames, *filenames]:
            full = Path(dirpath, entry)
            mode = os.lstat(full).st_mode
            member = f"{what}: {full.relative_to(path).as_posix()}"
            check_name_text(full.relative_to(path).as_posix(), "file name")
            if stat.S_ISLNK(mode):
                raise UsageError(f"{member} is a symlink; directory artifacts hold regular "
                                 "files only (copy the target in, or remove the link)")
            if not stat.S_ISDIR(mode):
                _regular(full, mode, member)
                count += 1
    return count


def _regular(path: Path, mode: int, what: str) -> None:
    if stat.S_ISREG(mode):
        return
    kind = ("a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "a symlink" if stat.S_ISLNK(mode) else "not a regular file")
    raise UsageError(f"{what} is {kind}; only regular files and directories can be saved")


def confined(base: Path, rel: str, what: str = "recorded path") -> Path:
    """``base / rel`` for a relative path taken from recorded data, or a refusal.

    No absolute path, no ``..``, no empty or control-character component, and no symlink
    already under ``base`` that would lead the write elsewhere.
    """
    parts = recorded(rel, what)
    out = base.joinpath(*parts)
    real_base = base.resolve()
    if not _inside(out.parent.resolve(), real_base) or out.is_symlink():
        raise IntegrityError(f"{what} {rel!r} leads outside {base} through a symlink; refused")
    return out


def recorded(rel: str, what: str = "recorded path") -> list[str]:
    """The parts of a path taken from recorded data, if it is a plain relative path outside
    the folders git, DVC and ckptgit manage; else an ``IntegrityError`` naming it."""
    parts = rel.split("/")
    if (not rel or rel.startswith("/") or "\\" in rel
            or any(p in ("", ".", "..") for p in parts)
            or any(ord(c) < 32 or ord(c) == 127 for c in rel)):
        raise IntegrityError(f"{what} {rel[:80]!r} is not a plain relative path; refused")
    if parts[0] in _RESERVED:
        raise IntegrityError(f"{what} {rel[:80]!r} is inside {parts[0]}/; refused")
    return parts
