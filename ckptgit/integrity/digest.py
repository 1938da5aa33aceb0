"""sha256 of many files at once, spread over the CPU cores.

``hashlib`` releases the GIL while it hashes a buffer, so threads hash files in parallel: on
two cores two files go at once, each at OpenSSL's own speed (SHA extensions where the CPU has
them). md5 is not computed here: it is only needed to describe a failure, and it is the slow one.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

Opener = Callable[[], IO[bytes]]
_BUF = 1 << 20


@dataclass(frozen=True)
class Job:
    """One file to hash: a local path, or an opener for a remote object."""

    key: Any
    path: Path | None = None
    opener: Opener | None = None
    size: int = 0


@dataclass(frozen=True)
class Result:
    key: Any
    sha256: str | None  # None when the bytes could not be read
    size: int
    error: str | None = None


def file_digest(src: Path | Opener, algorithm: str = "sha256",
                stop: threading.Event | None = None) -> tuple[str, int]:
    """Hex digest and byte count of a local path or of what an opener returns.

    A path is opened non-blocking and must be a regular file (a FIFO left where a checkpoint
    was would otherwise block the read forever); ``stop`` ends the read between chunks.
    """
    fh: IO[bytes] = _open_regular(src) if isinstance(src, Path) else src()
    with fh:
        h = hashlib.new(algorithm, usedforsecurity=algorithm != "md5")
        buf = bytearray(_BUF)
        view = memoryview(buf)
        size = 0
        readinto = getattr(fh, "readinto", None)
        while True:
            if readinto is not None:
                n = readinto(buf)
                chunk = view[:n] if n else b""
            else:
                chunk = fh.read(_BUF)
                n = len(chunk)
            if not n:
                break
            if stop is not None and stop.is_set():
                raise OSError(errno.EINTR, "interrupted")
            h.update(chunk)
            size += n
    return h.hexdigest(), size


def hash_all(
    jobs: Iterable[Job],
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> Iterator[Result]:
    """Results in completion order; a read error is a result, not an exception."""
    todo = sorted(jobs, key=lambda j: -j.size)  # big files first keep both cores busy to the end
    workers = max(1, workers or os.cpu_count() or 1)
    stop = threading.Event()
    pool = ThreadPoolExecutor(workers, thread_name_prefix="ckpt-verify")
    try:
        for result in pool.map(lambda job: _one(job, stop), todo):
            if progress:
                progress(result.size)
            yield result
    finally:
        # Ctrl-C (or a caller that stops early): queued files are dropped and the ones being
        # read stop at their next chunk, instead of hashing everything first
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)


def _open_regular(path: Path) -> IO[bytes]:
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, "not a regular file (a FIFO, socket or device)")
    return os.fdopen(fd, "rb", buffering=0)


def _one(job: Job, stop: threading.Event) -> Result:
    src: Path | Opener | None = job.path if job.path is not None else job.opener
    assert src is not None  # noqa: S101 - Job is built with one of them
    try:
        digest, size = file_digest(src, stop=stop)
    except OSError as exc:
        return Result(job.key, None, 0, exc.strerror or str(exc))
    return Result(job.key, digest, size)
