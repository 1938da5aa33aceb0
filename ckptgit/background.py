"""The one background worker of a process: ``save(background=True)`` jobs, in the order asked.

The worker is a plain non-daemon thread, and a process that ends with saves still queued waits
for them: ``drain`` is registered with ``threading``'s exit hooks *after* concurrent.futures'
own, and those run in reverse order, so the queue is emptied while thread pools (which every
save uses for hashing) still accept work. Python's ``atexit`` runs later, when pools refuse new
work ("cannot schedule new futures after interpreter shutdown"). A save that fails, or is lost
to a second Ctrl-C at exit, is named on stderr unless its error was already handed to the caller.
"""

from __future__ import annotations

import concurrent.futures.thread  # noqa: F401 - its exit hook must be registered before ours
import queue
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any


class SaveFuture(Future[Any]):
    """A Future that remembers whether anyone has looked at its outcome."""

    def __init__(self, describe: str) -> None:
        super().__init__()
        self.describe = describe
        self.seen = False

    def result(self, timeout: float | None = None) -> Any:
        self.seen = True
        return super().result(timeout)

    def exception(self, timeout: float | None = None) -> BaseException | None:
        self.seen = True
        return super().exception(timeout)


@dataclass
class _Job:
    future: SaveFuture
    run: Callable[[], Any]
    release: Callable[[], None] = field(default=lambda: None)


class Worker:
    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._jobs: list[_Job] = []
        self._exiting = False

    def submit(self, run: Callable[[], Any], describe: str,
               release: Callable[[], None] = lambda: None) -> SaveFuture:
        job = _Job(SaveFuture(describe), run, release)
        with self._lock:
            if self._exiting:  # asked for during exit: nothing would wait for a queued job
                release()
                raise RuntimeError("ckptgit: background save asked for while the process is "
                                   "exiting; save with background=False")
            if self._thread is None:
                _register_exit_hook(self.drain)
                self._thread = threading.Thread(target=self._loop, name="ckptgit-save",
                                                daemon=False)
                self._thread.start()
            self._jobs = [j for j in self._jobs if not j.future.done()] + [job]
        self._queue.put(job)
        return job.future

    def _loop(self) -> None:
        while (job := self._queue.get()) is not None:
            if not job.future.set_running_or_notify_cancel():
                job.release()
                continue
            try:
                job.future.set_result(job.run())
            except BaseException as exc:  # noqa: BLE001 - handed to whoever waits on it
                job.future.set_exception(exc)
            finally:
                job.release()

    def pending(self) -> list[SaveFuture]:
        with self._lock:
            return [j.future for j in self._jobs if not j.future.done()]

    def drain(self) -> None:
        """At exit: finish every queued save, then report what failed or was lost."""
        with self._lock:
            self._exiting = True
            jobs = list(self._jobs)
        waiting = [j for j in jobs if not j.future.done()]
        if waiting:
            _say(f"ckptgit: finishing {len(waiting)} background save(s) before exit "
                  "(Ctrl-C to abandon)")
        try:
            for job in waiting:
                concurrent.futures.wait([job.future])
        except KeyboardInterrupt:
            lost = [j for j in jobs if j.future.cancel()]
            for job in lost:
                _say(f"ckptgit: background save of {job.future.describe} abandoned at exit; "
                     "it was not recorded")
            running = [j for j in jobs if not j.future.done()]
            for job in running:
                _say(f"ckptgit: background save of {job.future.describe} is still running; "
                     "waiting for it (a save is never left half-written)")
            concurrent.futures.wait([j.future for j in running])
        finally:
            self._queue.put(None)
        for job in jobs:
            future = job.future
            if future.done() and not future.cancelled() and not future.seen:
                exc = super(SaveFuture, future).exception()
                if exc is not None:
                    _say(f"ckptgit: background save of {future.describe} failed and was not "
                         f"recorded: {exc}")


def _say(line: str) -> None:
    """The API's only output: at exit there is no caller left to hand an error to."""
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def _register_exit_hook(hook: Callable[[], None]) -> None:
    register = getattr(threading, "_register_atexit", None)
    if register is None:  # not CPython 3.9+: atexit runs later, after pools shut down
        import atexit

        atexit.register(hook)
        return
    register(hook)


_worker: Worker | None = None
_worker_lock = threading.Lock()


def worker() -> Worker:
    global _worker
    with _worker_lock:
        if _worker is None:
            _worker = Worker()
        return _worker
