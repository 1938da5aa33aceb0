"""``git ckpt rank``: the checkpoints of a repository through ``compare/ranking.py``."""

from __future__ import annotations

import dataclasses
import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from ckptgit.compare import ranking
from ckptgit.repo import Repo

EVAL_KEY = b"eval_data:"


def rank(repo: Repo, by: Sequence[str], name: str | None = None, where: str | None = None,
         top: int | None = None) -> tuple[list[ranking.Criterion], list[ranking.Ranked]]:
    """The criteria parsed from ``by`` (``metric[:min|max]``) and the ranked checkpoints."""
    criteria = [ranking.criterion(spec, repo.config.metric_goals) for spec in by]
    with _no_cycle_collection():
        entries = [c for c in repo.checkpoints() if name is None or c.name == name]
        ranked = ranking.rank(entries, criteria, where, top)
    return criteria, _eval_data(repo, ranked, [k.metric for k in criteria])


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Loading 100,000 checkpoints and a filter context for each allocates about a million
    objects with no reference cycles among them, and the cyclic collector traversed the
    growing heap again and again meanwhile (0.9 of 2.5 CPU seconds of a rank at 100,000).
    Reference counting frees them all the same; the collector resumes afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _eval_data(repo: Repo, ranked: list[ranking.Ranked],
               names: list[str]) -> list[ranking.Ranked]:
    """Each row whose ranking metrics rest on other evaluation data than the first row's
    carries a warning (or the ranking is refused, per ``comparison.eval_data``).

    Only sidecars that record ``eval_data`` are parsed; the rest are known from the index."""
    from ckptgit.compare import evaldata

    how = evaldata.mode(repo.config.raw)
    if len(ranked) < 2 or how == "ignore":
        return ranked
    specs = [f"{r.checkpoint.commit}:{r.checkpoint.sidecar_path}" for r in ranked]
    blobs = repo.git.cat_files(list(dict.fromkeys(specs)))
    if not any(EVAL_KEY in (blobs.get(s) or b"") for s in specs):
        return ranked  # no row names its evaluation data: nothing to compare
    docs = [_doc(r, blobs.get(s) or b"", s) for r, s in zip(ranked, specs, strict=True)]
    best = ranked[0].checkpoint
    out = [ranked[0]]
    for row, doc in zip(ranked[1:], docs[1:], strict=True):
        found = evaldata.compare(best.short_id, docs[0], row.checkpoint.short_id, doc, names)
        judged = evaldata.judge(found, how, f"rank: #{row.rank} {row.checkpoint.short_id} "
                                            f"versus #1 {best.short_id}")
        out.append(dataclasses.replace(row, warnings=tuple(m.to_dict() for m in judged)))
    return out


def _doc(row: ranking.Ranked, raw: bytes, spec: str) -> dict[str, Any]:
    from ckptgit import sidecar

    if EVAL_KEY in raw:
        return sidecar.load(raw, spec)
    return {"metrics": row.checkpoint.metrics}
