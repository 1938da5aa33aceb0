"""Fault injection for the kill tests: ``CKPT_FAULT=point[:n]`` SIGKILLs this process the
n-th time (default the first) execution reaches the named point.

The points sit between the steps whose order makes a command crash-safe (bytes, commit, ref,
index, work tree); tests/test_kill.py kills every command at each of them and checks that what
was saved before is intact and the interrupted work is whole or absent. Unset (always, outside
tests) a point costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

_SPEC = os.environ.get("CKPT_FAULT", "")
_HEAD, _, _TAIL = _SPEC.rpartition(":")
_NAME, _NTH = (_HEAD, int(_TAIL)) if _TAIL.isdigit() else (_SPEC, 1)
_seen = 0


def point(name: str) -> None:
    """Die here, abruptly, if this is the point (and the hit) the environment names."""
    global _seen
    if not _NAME or name != _NAME:
        return
    _seen += 1
    if _seen >= _NTH:
        os.kill(os.getpid(), signal.SIGKILL)
