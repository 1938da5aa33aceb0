"""One read pass over an artifact: md5 (DVC's address), sha256 (our seal) and the cache copy.

md5 is the slow one (no CPU instructions for it), so it runs on its own thread while sha256
and the copy share another; hashlib releases the GIL on large buffers, so on two cores a save
costs about what ``md5sum`` alone costs. Each chunk is read from disk once. The copy is a
reflink where the filesystem has them; on ext4 and XFS it is written straight to the disk
from the buffer just hashed (``O_DIRECT``: no page-cache copy and no dirty pages for the
closing ``fsync``; 0.6 fewer CPU seconds on a 20 x 100 MB save); elsewhere the kernel
copies it (``copy_file_range``) from the pages the hashing has just read, its writeback
started at once (``sync_file_range``) so the closing ``fsync`` finds little left to write.
"""

from __future__ import annotations

import errno
import fcntl
import functools
import hashlib
import mmap
import os
import stat
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ckptgit.errors import IntegrityError, UsageError

CHUNK = 4 << 20
_RING = 6  # buffers in flight per file: read, md5, sha256 and the write overlap
_FICLONE = 0x40049409
_SYNC_FILE_RANGE_WRITE = 2
_ALIGN = 4096  # O_DIRECT wants offsets, lengths and buffers aligned to the device's blocks

Progress = Callable[[int], None]


class Cancelled(Exception):  # noqa: N818 - what it is, not an error
    """Raised by a progress callback to stop a copy between chunks."""


@dataclass(frozen=True)
class Digests:
    size: int
    sha256: str
    md5: str = ""  # empty when md5 was not asked for


def _reflink(src_fd: int, dst_fd: int) -> bool:
    try:
        fcntl.ioctl(dst_fd, _FICLONE, src_fd)
    except OSError:
        return False
    return True


def _copy_range(src_fd: int, dst_fd: int, view: memoryview, offset: int) -> None:
    remaining, pos = len(view), offset
    try:
        while remaining:
            done = os.copy_file_range(src_fd, dst_fd, remaining, pos, pos)
            if done == 0:
                break
            remaining -= done
            pos += done
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
            raise
    if remaining:  # no kernel copy here: write the tail from the buffer we already hold
        os.pwrite(dst_fd, view[len(view) - remaining:], pos)


def stream(
    src: Path,
    dst: Path | None = None,
    *,
    md5: bool = True,
    progress: Progress | None = None,
) -> Digests:
    """Hash ``src`` once and, when ``dst`` is given, copy it there in the same pass."""
    # non-blocking: a FIFO put where a file was expected must fail here, not hang the read
    src_fd = os.open(src, os.O_RDONLY | os.O_NONBLOCK)
    before = os.fstat(src_fd)
    if not stat.S_ISREG(before.st_mode):
        os.close(src_fd)
        raise UsageError(f"{src} is not a regular file (a FIFO, socket or device); refused")
    dst_fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644) if dst else -1
    try:
        copy = dst_fd >= 0 and not _reflink(src_fd, dst_fd)
        sha, md = hashlib.sha256(), hashlib.md5(usedforsecurity=False) if md5 else None
        size = _pump(src_fd, dst_fd if copy else -1, sha, md, progress)
        if dst_fd >= 0:
            os.fsync(dst_fd)
    finally:
        os.close(src_fd)
        if dst_fd >= 0:
            os.close(dst_fd)
    after = os.stat(src)
    changed = (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns)
    if changed or size != after.st_size:
        raise IntegrityError(
            f"{src} changed while it was being read; save it again once writing has finished"
        )
    return Digests(size=size, sha256=sha.hexdigest(), md5=md.hexdigest() if md else "")


def _pump(
    src_fd: int,
    dst_fd: int,
    sha: hashlib._Hash,
    md: hashlib._Hash | None,
    progress: Progress | None,
) -> int:
    first = os.pread(src_fd, CHUNK, 0)
    if len(first) < CHUNK:  # small file: threads would cost more than they save
        _update(sha, md, dst_fd, src_fd, memoryview(first), 0)
        if progress:
            progress(len(first))
        return len(first)
    ring = [mmap.mmap(-1, CHUNK) for _ in range(_RING)]  # page-aligned, for O_DIRECT
    ring[0][:] = first
    out = _Out(dst_fd)
    preload()  # on this thread: the workers below must not import (see ``preload``)
    side = ThreadPoolExecutor(1, thread_name_prefix="ckpt-sha")
    main = ThreadPoolExecutor(1, thread_name_prefix="ckpt-md5") if md else None
    # a direct write waits for the disk: on its own thread, so sha256 goes on meanwhile
    writer = ThreadPoolExecutor(1, thread_name_prefix="ckpt-write") if out.direct >= 0 else None
    pending: list[list[Future[None]]] = []
    offset, i, n = 0, 0, len(first)
    try:
        while n:
            view = memoryview(ring[i % _RING])
            jobs = ([side.submit(sha.update, view[:n]),
                     writer.submit(out.write, src_fd, view, n, offset)] if writer else
                    [side.submit(_side_work, sha, out, src_fd, view, n, offset)])
            if main and md:
                jobs.append(main.submit(md.update, view[:n]))
            pending.append(jobs)
            offset += n
            i += 1
            if len(pending) >= _RING - 1:
                _wait(pending.pop(0))
                if progress:
                    progress(CHUNK)
            n = os.preadv(src_fd, [ring[i % _RING]], offset)
        for jobs in pending:
            _wait(jobs)
        out.finish(offset)
    finally:
        side.shutdown()
        if main:
            main.shutdown()
        if writer:
            writer.shutdown()
        out.close()
    return offset


class _Out:
    """Where the side thread writes a large file's copy: straight to the disk from the buffer
    just hashed (``O_DIRECT``) where the filesystem allows it, else by the kernel's copy.

    A direct write skips the page cache: no second copy of every byte in memory, no dirty
    pages for the closing ``fsync`` to wait on, and the bytes written are the very bytes
    hashed. Only on local disk filesystems (``_DIRECT_FS``): on NFS or FUSE a direct write
    is a synchronous round trip per chunk. A filesystem that refuses it anyway gets
    ``copy_file_range`` from the pages the hashing has just read, as before.
    """

    def __init__(self, dst_fd: int) -> None:
        self.fd = dst_fd
        self.direct = -1
        if dst_fd >= 0 and hasattr(os, "O_DIRECT") and _local_disk(dst_fd):
            try:
                self.direct = os.open(f"/proc/self/fd/{dst_fd}", os.O_WRONLY | os.O_DIRECT)
            except OSError:
                self.direct = -1

    def write(self, src_fd: int, buf: memoryview, n: int, offset: int) -> None:
        if self.fd < 0:
            return
        if self.direct >= 0:
            length = -(-n // _ALIGN) * _ALIGN  # the last chunk padded; truncated in ``finish``
            try:
                if os.pwrite(self.direct, buf[:length], offset) == length:
                    return
            except OSError as exc:
                if exc.errno not in (errno.EINVAL, errno.EOPNOTSUPP):
                    raise
            self.close()  # refused: this chunk and the rest by the kernel's copy
        _copy_range(src_fd, self.fd, buf[:n], offset)
        _start_writeback(self.fd, offset, n)

    def finish(self, size: int) -> None:
        if self.fd >= 0:  # a padded last chunk, or a short direct write copied again
            os.ftruncate(self.fd, size)

    def close(self) -> None:
        if self.direct >= 0:
            os.close(self.direct)
            self.direct = -1


def _wait(jobs: Iterable[Future[None]]) -> None:
    for job in jobs:
        job.result()


# statfs f_type of the filesystems where a direct write is known to be the cheap one:
# ext2/3/4 and XFS (btrfs takes the reflink before any copy)
_DIRECT_FS = frozenset({0xEF53, 0x58465342})


def _local_disk(fd: int) -> bool:
    func = _fstatfs()
    if func is None:
        return False
    import ctypes

    buf = ctypes.create_string_buffer(512)  # struct statfs, larger than any ABI's
    if func(fd, buf) != 0:
        return False
    # f_type is the struct's first field, a C long, on every Linux ABI
    return ctypes.c_long.from_buffer(buf).value in _DIRECT_FS


def _side_work(sha: hashlib._Hash, out: _Out, src_fd: int, buf: memoryview, n: int,
               offset: int) -> None:
    sha.update(buf[:n])
    out.write(src_fd, buf, n, offset)


def preload() -> None:
    """Resolve, on the calling thread, what the hashing workers use (ctypes' libc binding).

    A worker thread that imports can block for ever on the import lock when Ctrl-C lands
    while the main thread is in the middle of an import; the copy then never ends.
    """
    _sync_file_range()
    _fstatfs()


@functools.cache
def _fstatfs() -> Callable[[int, object], int] | None:
    """libc's ``fstatfs`` (Linux), or None where there is no such call."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        func = ctypes.CDLL(None, use_errno=True).fstatfs
    except (OSError, AttributeError):
        return None
    func.argtypes = [ctypes.c_int, ctypes.c_char_p]
    func.restype = ctypes.c_int
    return func


@functools.cache
def _sync_file_range() -> Callable[[int, int, int, int], int] | None:
    """libc's ``sync_file_range`` (Linux), or None where there is no such call."""
    try:
        import ctypes

        func = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    func.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    func.restype = ctypes.c_int
    return func


def _start_writeback(fd: int, offset: int, length: int) -> None:
    """Start writing these pages to disk now, without waiting; the final fsync still decides.

    Only a hint: a failure here changes nothing, so its result is not checked.
    """
    func = _sync_file_range()
    if func is not None:
        func(fd, offset, length, _SYNC_FILE_RANGE_WRITE)


def _update(
    sha: hashlib._Hash, md: hashlib._Hash | None, dst_fd: int, src_fd: int,
    view: memoryview, offset: int,
) -> None:
    sha.update(view)
    if md:
        md.update(view)
    if dst_fd >= 0:
        _copy_range(src_fd, dst_fd, view, offset)


def directory_seal(files: Iterable[tuple[str, str]]) -> str:
    """The seal of a directory: sha256 of its sorted ``<sha256>  <relpath>`` manifest.

    Same line format as ``sha256sum``, so an auditor can rebuild it with standard tools.
    """
    manifest = "".join(f"{digest}  {rel}\n" for rel, digest in sorted(files))
    return hashlib.sha256(manifest.encode()).hexdigest()


def copy(src: Path, dst: Path) -> None:
    """Copy ``src`` to ``dst`` without reading it into Python: a reflink where the filesystem
    has one, else the kernel's own copy. No hash and no fsync: for bytes whose digests were
    taken as they were written (a restore's fresh download), which the cache still holds."""
    src_fd = os.open(src, os.O_RDONLY | os.O_NONBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(src_fd).st_mode):
            raise UsageError(f"{src} is not a regular file (a FIFO, socket or device); refused")
        dst_fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            if not _reflink(src_fd, dst_fd):
                _copy_all(src_fd, dst_fd)
        finally:
            os.close(dst_fd)
    finally:
        os.close(src_fd)


def _copy_all(src_fd: int, dst_fd: int) -> None:
    offset = 0
    while True:
        try:
            done = os.copy_file_range(src_fd, dst_fd, CHUNK, offset, offset)
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
                raise
            done = -1
        if done < 0:  # no kernel copy here: through a buffer, from where it stopped
            while block := os.pread(src_fd, CHUNK, offset):
                offset += os.pwrite(dst_fd, block, offset)  # a short write: read the rest again
            return
        if done == 0:
            return
        offset += done
