"""A test seam: ``CKPT_FAULT=POINT`` makes the process SIGKILL itself at that named point.

Crash-safety tests (``tests/test_fsck.py``) run the real ``git ckpt save`` with it instead of
killing the process after a guessed delay, so each run dies at exactly the same step. The
points, in the order a save reaches them (all in ``ops/save.py``):

- ``copying``: the first chunk of the bytes is in the cache's temporary file;
- ``stored``: the bytes are in the cache, nothing is committed;
- ``committed``: the branch points at the save commit; index and work tree are not updated;
- ``staged``: the index holds the new records; the work tree does not yet.

Unset (always, outside tests) it costs one environment lookup per point.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable

Progress = Callable[[int], None]  # as ``hashing.Progress``; this module imports nothing of ours

ENV = "CKPT_FAULT"
POINTS = ("copying", "stored", "committed", "staged")


def point(name: str) -> None:
    if os.environ.get(ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


def on_progress(name: str, progress: Progress | None) -> Progress | None:
    """``progress``, or (when ``name`` is armed) a callback that dies on its first call."""
    if os.environ.get(ENV) != name:
        return progress

    def die(_: int) -> None:
        point(name)

    return die
