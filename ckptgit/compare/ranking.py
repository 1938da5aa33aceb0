"""Ranking checkpoints by metrics, filtered by a CEL expression (``ops/rank.py`` runs it).

Repeatable: criteria are applied in order, ties fall to the next criterion, then to time
(earlier first: the first checkpoint to reach a score keeps its place, as early stopping does),
then to the id. A checkpoint without a criterion's metric (or with a non-finite one) sorts
after every checkpoint that has it.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ckptgit.compare import metrics
from ckptgit.errors import UsageError
from ckptgit.model import Checkpoint


@dataclass(frozen=True)
class Criterion:
    metric: str
    goal: str  # min | max


@dataclass(frozen=True)
class Ranked:
    rank: int
    checkpoint: Checkpoint
    values: dict[str, Any]  # metric -> value, for each criterion
    # its values rest on other evaluation data than the first row's (compare/evaldata.py)
    warnings: tuple[dict[str, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        c = self.checkpoint
        out = {"rank": self.rank, "id": c.id, "name": c.name, "commit": c.commit,
               "created_at": c.created_at, "step": c.step, "values": self.values}
        if self.warnings:
            out["warnings"] = [dict(w) for w in self.warnings]
        return out


def criterion(spec: str, goals: Mapping[str, str]) -> Criterion:
    """``METRIC[:min|max]``; without a goal, the config's or the name's guess."""
    name, _, goal = spec.rpartition(":") if spec.endswith((":min", ":max")) else (spec, "", "")
    name = name.strip()
    if not name:
        raise UsageError(f"--by {spec!r}: name a metric, e.g. --by val_loss:min")
    chosen = goal or metrics.goal_for(name, goals)
    if chosen is None:
        raise UsageError(f"--by {spec}: is higher or lower better? say --by {name}:max or "
                         f"--by {name}:min (or set metrics.goals in .ckpt/config.yaml)")
    return Criterion(name, chosen)


def context(c: Checkpoint) -> dict[str, Any]:
    """What ``--where`` expressions see."""
    return {"id": c.id, "name": c.name, "commit": c.commit, "created_at": c.created_at,
            "step": c.step if c.step is not None else -1, "parent": c.parent or "",
            "labels": list(c.labels), "metrics": c.metrics, "params": c.params}


def rank(entries: Iterable[Checkpoint], by: list[Criterion], where: str | None = None,
         top: int | None = None) -> list[Ranked]:
    if not by:
        raise UsageError("rank needs at least one --by METRIC[:min|max]")
    if where:
        from ckptgit.compare import filtering

        entries = list(entries)
        kept = filtering.holds_many(where, [context(c) for c in entries])
        entries = [c for c, ok in zip(entries, kept, strict=True) if ok]
    scored = []
    names = [k.metric for k in by]
    for c in entries:  # each metric's own value, not every metric of every checkpoint flattened
        values = {name: _flat_get(c.metrics, name) for name in names}
        scored.append((_key(values, by, c), c, values))
    if top is not None:  # sorted(...)[:top] without sorting 100,000 rows for the best five
        chosen = heapq.nsmallest(top, scored, key=lambda row: row[0])
    else:
        chosen = sorted(scored, key=lambda row: row[0])
    return [Ranked(i + 1, c, values) for i, (_, c, values) in enumerate(chosen)]


def _flat_get(values: Mapping[str, Any] | None, name: str) -> Any:
    """``metrics.flatten(values).get(name)`` without building the flattened copy."""
    found = _flat_find(values, name, "")
    return None if found is _NOTHING else found


_NOTHING = object()


def _flat_find(values: Mapping[str, Any] | None, name: str, prefix: str) -> Any:
    """``flatten``'s own walk (names joined as it joins them: an empty prefix adds no dot),
    into only the maps whose names can lead to ``name``, keeping the last value it would
    write under ``name``."""
    found = _NOTHING
    for key, value in (values or {}).items():
        full = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            if not full or name.startswith(full + "."):
                inner = _flat_find(value, name, full)
                found = found if inner is _NOTHING else inner
        elif full == name:
            found = value
    return found


def _key(values: dict[str, Any], by: list[Criterion], c: Checkpoint) -> tuple[Any, ...]:
    parts: list[Any] = []
    for k in by:
        x = metrics.number(values[k.metric])
        if x is None or not math.isfinite(x):
            parts.append((1, 0.0))
        else:
            parts.append((0, x if k.goal == "min" else -x))
    return (*parts, c.created_at, c.id)
