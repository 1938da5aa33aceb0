"""``rank --where`` filters over many checkpoints.

Filters in the simple subset of CEL (fields compared with constants, ``&&``, ``||``, ``!``,
``in``) are compiled once to a Python predicate (``predicates.py``, about a microsecond a
row); rows it cannot decide, and every other expression, go to celpy, whose evaluation costs
0.25 ms or more in pure Python. For those: each context keeps only the top-level fields the
expression names (a name that is not in the text cannot be read), and large batches go to
worker processes (forkserver: no locks inherited from the caller's threads), like sidecar
parsing. Falls back to this process if a pool fails.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ckptgit import expressions, predicates

PARALLEL_FROM = 2000  # below this, starting workers (about 0.3 s with celpy) costs more
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def narrowed(expression: str, context: Mapping[str, Any]) -> dict[str, Any]:
    words = set(_WORD.findall(expression))
    return {k: v for k, v in context.items() if k in words}


def holds_many(expression: str, contexts: Sequence[Mapping[str, Any]],
               workers: int | None = None) -> list[bool]:
    """``expressions.holds`` of each context (a missing field counts as false)."""
    expressions.check(expression)
    predicate = predicates.compile_filter(expression)
    if predicate is None:
        return celpy_many(expression, contexts, workers)
    verdicts = [predicate(c) for c in contexts]
    unsure = [i for i, v in enumerate(verdicts) if v is None]
    if unsure:
        for i, v in zip(unsure, celpy_many(expression, [contexts[i] for i in unsure], workers),
                        strict=True):
            verdicts[i] = v
    return [v is True for v in verdicts]


def celpy_many(expression: str, contexts: Sequence[Mapping[str, Any]],
               workers: int | None = None) -> list[bool]:
    """Every context through celpy (narrowed; on every core for large batches)."""
    small = [narrowed(expression, c) for c in contexts]
    workers = workers or os.cpu_count() or 1
    if len(small) >= PARALLEL_FROM and workers > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor
        from concurrent.futures.process import BrokenProcessPool

        chunk = max(64, len(small) // (workers * 4))
        batches = [small[i:i + chunk] for i in range(0, len(small), chunk)]
        try:
            with ProcessPoolExecutor(min(workers, 32),
                                     mp_context=multiprocessing.get_context("forkserver")) as pool:
                return [x for part in pool.map(_batch, [expression] * len(batches), batches)
                        for x in part]
        except (BrokenProcessPool, OSError) as exc:
            logging.getLogger(__name__).warning(
                "filtering %d checkpoints on one core: the worker processes failed (%s)",
                len(small), exc)
    return _batch(expression, small)


def _batch(expression: str, contexts: Sequence[Mapping[str, Any]]) -> list[bool]:
    return [expressions.holds(expression, c) for c in contexts]
