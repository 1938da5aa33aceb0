"""A test seam: ``CKPT_FAULT=POINT[:N]`` makes the process SIGKILL itself the N-th time
(default the first) it reaches the named point.

Crash-safety tests (``tests/test_fsck.py``, ``tests/test_kill.py``) run the real commands with
it instead of guessing a delay, so each run dies at exactly the same step. The points, in the
order each command reaches them:

- save (``ops/save.py``): ``copying`` (the first chunk is in the cache's temporary file),
  ``stored`` (the bytes are in the cache, nothing committed), ``built`` (the commit object
  exists, the branch has not moved), ``committed`` (the branch points at the save; index and
  work tree not updated), ``indexed`` (the checkpoint index knows it), ``staged`` (the index
  holds the new records), ``written`` (one more work-tree record written);
- promote, revert and the other tag actions: ``tagged`` (the signed tag exists, not yet
  verified), ``manifest-built``, ``manifest-committed`` (the stage manifest's commit, before
  and after the branch moves);
- restore: ``fetched`` (a verified remote object is about to enter the cache),
  ``restore-staged`` (the sealed copy is in the staging folder), ``restored`` (in place, the
  work tree's pointer not yet updated);
- gc: ``collected`` (one more cache object removed);
- migrate: ``migrate-built``, ``migrated`` (the branch moved), ``migrate-written``.

``CKPT_FAULT_SIGNAL=INT`` sends SIGINT instead of SIGKILL: Ctrl-C at exactly that step, so the
interrupt tests need no guessed delay either. ``CKPT_FAULT_SIGNAL=STOP`` suspends the process
there (SIGSTOP) until the test sends SIGCONT: a race lost at exactly that step, on purpose.

Unset (always, outside tests) it costs one environment lookup per point.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable

Progress = Callable[[int], None]  # as ``hashing.Progress``; this module imports nothing of ours

ENV = "CKPT_FAULT"
SIGNAL_ENV = "CKPT_FAULT_SIGNAL"
POINTS = ("copying", "stored", "built", "committed", "indexed", "staged", "written", "tagged",
          "manifest-built", "manifest-committed", "fetched", "restore-staged", "restored",
          "collected", "migrate-built", "migrated", "migrate-written")
_hits: dict[str, int] = {}


def _armed() -> tuple[str, int]:
    spec = os.environ.get(ENV, "")
    head, _, tail = spec.rpartition(":")
    return (head, int(tail)) if head and tail.isdigit() else (spec, 1)


def point(name: str) -> None:
    armed, nth = _armed()
    if armed != name:
        return
    _hits[name] = _hits.get(name, 0) + 1
    if _hits[name] == nth or (_hits[name] > nth and _signal() is signal.SIGKILL):
        os.kill(os.getpid(), _signal())


def _signal() -> signal.Signals:
    chosen = os.environ.get(SIGNAL_ENV, "").upper().removeprefix("SIG")
    return {"INT": signal.SIGINT, "STOP": signal.SIGSTOP}.get(chosen, signal.SIGKILL)


def on_progress(name: str, progress: Progress | None) -> Progress | None:
    """``progress``, or (when ``name`` is armed) a callback that dies on its first call."""
    if _armed()[0] != name:
        return progress

    def die(_: int) -> None:
        point(name)

    return die
