"""Pin the bytes at a path when a background save is asked for, so the save records exactly them.

A training loop hands a path to ``save(background=True)`` and goes on: it may rewrite that path
next epoch (``torch.save`` and safetensors' ``save_file`` rewrite in place), or delete it
(Trainer's ``save_total_limit``). Two ways to pin, chosen per call:

- **copy**: a private copy (a reflink where the filesystem has them, else the kernel's
  ``copy_file_range``) into the DVC cache's staging folder. The background save then hashes that
  copy and renames it into the cache, so the copy is the cache object, not extra work.
- **guard**: the file is opened now and its (inode, size, mtime) noted; the background save
  reads through that descriptor (a deletion or a rename over the path cannot touch those bytes)
  and fails if the stamps changed (an in-place rewrite). Before returning, the call waits until
  the kernel's coarse clock has moved past the file's mtime, so any later write gets a different
  mtime (a write in the same clock tick would otherwise be invisible).

``auto`` copies a path pinned before in this process (a rolling checkpoint), anything small, and
anything the clock check cannot vouch for; a large file at a fresh path is guarded (≤ a few ms).
"""

from __future__ import annotations

import fcntl
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ckptgit.errors import IntegrityError, UsageError

if TYPE_CHECKING:  # imported when needed: the guard, the common case, must cost a few ms
    from ckptgit.hashing import Progress
    from ckptgit.storage import Stored

SMALL = 32 << 20  # copied whatever the mode: cheaper than any risk of a failed save
_SETTLE_LIMIT_S = 0.05  # an mtime the coarse clock has not reached by then (clock skew): copy
_FICLONE = 0x40049409
_CLOCK_REALTIME_COARSE = 5  # Linux; Python does not name it

_seen: set[Path] = set()
_seen_lock = threading.Lock()


@dataclass(frozen=True)
class Stamp:
    """What changes whenever a file's bytes do.

    Not ctime: deleting or renaming the file (a Trainer rotating a checkpoint away) changes
    it without touching the bytes. A writer that sets mtime back after writing is not caught.
    """

    ino: int
    dev: int
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, st: os.stat_result) -> Stamp:
        return cls(st.st_ino, st.st_dev, st.st_size, st.st_mtime_ns)


@dataclass
class Pin:
    """The bytes of one artifact as they were at ``save()``; ``store`` puts them in the cache.

    A copy is consumed by ``store`` (renamed into the cache); read ``view`` before it. The
    owner calls ``release`` once the save is over, whatever its outcome.
    """

    real: Path  # the artifact's resolved path at pin time
    is_dir: bool
    mode: str  # "copy" | "guard"
    files: list[tuple[str, Path, int, Stamp | None]]  # rel, readable path, fd or -1, stamp
    staging: Path | None = None
    seconds: float = 0.0  # time the caller was blocked

    @property
    def view(self) -> Path:
        """Where the pinned bytes of a file artifact can be read (headers, format)."""
        return self.files[0][1]

    def store(self, root: Path, progress: Progress | None = None) -> Stored:
        from ckptgit import storage

        self._check()
        sources = [(rel, path) for rel, path, _, _ in self.files]
        stored = storage.store_pinned(root, sources, single=not self.is_dir,
                                      adopt=self.mode == "copy", progress=progress)
        self._check()
        return stored

    def _check(self) -> None:
        for rel, _, fd, stamp in self.files:
            if fd >= 0 and stamp is not None and Stamp.of(os.fstat(fd)) != stamp:
                where = self.real / rel if rel else self.real
                raise IntegrityError(
                    f"{where} was rewritten in place after save() and before its background "
                    "save read it; nothing was recorded for it. Write each checkpoint to a new "
                    "path, or pass snapshot=True to copy it when save() is called")

    def release(self) -> None:
        for i, (rel, path, fd, stamp) in enumerate(self.files):
            if fd >= 0:
                os.close(fd)
                self.files[i] = (rel, path, -1, stamp)
        if self.staging is not None:
            import shutil

            shutil.rmtree(self.staging, ignore_errors=True)
            self.staging = None


def pin(root: Callable[[], Path], path: Path, mode: str = "auto") -> Pin:
    """Pin ``path`` (absolute) for a save into the cache of the repository ``root()`` names
    (asked only for a copy); ``mode`` is auto, copy or guard."""
    if mode not in ("auto", "copy", "guard"):
        raise UsageError(f"snapshot must be True, False or None, not {mode!r}")
    started = time.perf_counter()
    real = path.resolve()
    if not real.exists():
        raise UsageError(f"{path}: no such file or directory")
    files = _listing(real)
    with _seen_lock:
        rolling = real in _seen
        _seen.add(real)
    small = sum(os.stat(p).st_size for _, p in files) <= SMALL
    chosen = mode if mode != "auto" else ("copy" if rolling or small else "guard")
    result = _guard(real, files) if chosen == "guard" else None
    if result is None:
        result = _copy(root, real, files)
    result.seconds = time.perf_counter() - started
    return result


def _listing(real: Path) -> list[tuple[str, Path]]:
    if not real.is_dir():
        return [("", real)]
    found = sorted((p.relative_to(real).as_posix(), p) for p in real.rglob("*") if p.is_file())
    if not found:
        raise UsageError(f"{real} is an empty directory: nothing to save")
    return found


def _guard(real: Path, files: list[tuple[str, Path]]) -> Pin | None:
    """Open every file now; None when the clock cannot vouch for a later change being seen."""
    opened: list[tuple[str, Path, int, Stamp | None]] = []
    try:
        for rel, path in files:
            fd = os.open(path, os.O_RDONLY)
            opened.append((rel, _fd_path(fd, path), fd, Stamp.of(os.fstat(fd))))
        newest = max(stamp.mtime_ns for _, _, _, stamp in opened if stamp is not None)
        if _settle(newest):
            return Pin(real, real.is_dir(), "guard", opened)
    except BaseException:
        Pin(real, False, "guard", opened).release()
        raise
    Pin(real, False, "guard", opened).release()
    return None


def _fd_path(fd: int, path: Path) -> Path:
    """A path that reads the open file itself, even once it is deleted or renamed over."""
    proc = Path(f"/proc/self/fd/{fd}")
    return proc if proc.exists() else path


def _settle(mtime_ns: int) -> bool:
    """Wait until the kernel's coarse clock (which stamps writes) is past ``mtime_ns``."""
    if not sys.platform.startswith("linux"):
        return False  # the clock that stamps writes is unknown here: copy instead
    coarse = getattr(time, "CLOCK_REALTIME_COARSE", _CLOCK_REALTIME_COARSE)
    clock: Callable[[], int] = lambda: time.clock_gettime_ns(coarse)  # noqa: E731
    deadline = time.monotonic() + _SETTLE_LIMIT_S
    while clock() <= mtime_ns:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.0005)
    return True


def _copy(root: Callable[[], Path], real: Path, files: list[tuple[str, Path]]) -> Pin:
    """A private copy of every file in the cache's staging folder (the cache's filesystem)."""
    import shutil
    import tempfile

    from ckptgit import storage

    tmp = storage.staging_dir(root())
    staging = Path(tempfile.mkdtemp(dir=tmp, prefix="pin-"))
    pinned: list[tuple[str, Path, int, Stamp | None]] = []
    try:
        for i, (rel, path) in enumerate(files):
            dst = staging / str(i)
            copy_file(path, dst)
            pinned.append((rel, dst, -1, None))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return Pin(real, real.is_dir(), "copy", pinned, staging=staging)


def copy_file(src: Path, dst: Path) -> None:
    """``src`` to a new ``dst``: a reflink if the filesystem can, else an in-kernel copy.

    No fsync here (the caller is waiting): the background save syncs the copy before it
    becomes a cache object. A change to ``src`` during the copy fails the call.
    """
    src_fd = os.open(src, os.O_RDONLY)
    try:
        before = Stamp.of(os.fstat(src_fd))
        if hasattr(os, "posix_fadvise"):  # as cp does: read-ahead for one sequential pass
            os.posix_fadvise(src_fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)
        dst_fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            if not _reflink(src_fd, dst_fd):
                _copy_range(src_fd, dst_fd, before.size)
        finally:
            os.close(dst_fd)
        if Stamp.of(os.fstat(src_fd)) != before:
            raise IntegrityError(f"{src} changed while save() was copying it; save it again "
                                 "once writing has finished")
    finally:
        os.close(src_fd)


def _reflink(src_fd: int, dst_fd: int) -> bool:
    try:
        fcntl.ioctl(dst_fd, _FICLONE, src_fd)
    except OSError:
        return False
    return True


def _copy_range(src_fd: int, dst_fd: int, size: int) -> None:
    offset = 0
    try:
        while offset < size:
            done = os.copy_file_range(src_fd, dst_fd, size - offset, offset, offset)
            if done == 0:
                break
            offset += done
    except OSError:
        pass  # no in-kernel copy between these files: finish with plain reads and writes
    while offset < size:
        chunk = os.pread(src_fd, min(8 << 20, size - offset), offset)
        if not chunk:
            break
        offset += os.pwrite(dst_fd, chunk, offset)
