"""Metric deltas and their direction: better or worse, by goal.

Goals come from ``.ckpt/config.yaml`` (``metrics.goals: {val_loss: min, accuracy: max}``);
without one, the name decides (``*loss*``, ``*error*``, ``wer`` … are minimised; ``acc*``,
``f1``, ``auc`` … maximised) and anything else has no direction.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from ckptgit.compare.result import MetricDelta

_MIN = re.compile(r"(loss|err|error|perplexity|ppl|mse|mae|rmse|wer|cer|latency|fpr|fnr|"
                  r"distance|regret|nll|ece|brier|time|seconds|bytes)", re.IGNORECASE)
_MAX = re.compile(r"(acc|accuracy|f1|auc|roc|precision|recall|bleu|rouge|map|ndcg|mrr|iou|"
                  r"dice|r2|score|reward|return|throughput|exact_match|em|top\d)", re.IGNORECASE)


def goal_for(name: str, goals: Mapping[str, str]) -> str | None:
    """``min``/``max`` from config (full dotted name, then its last part), else from the name."""
    last = name.rsplit(".", 1)[-1]
    for key in (name, last):
        if key in goals:
            return goals[key] if goals[key] in ("min", "max") else None
    words = re.split(r"[^a-zA-Z0-9]+", last)
    if any(_MIN.fullmatch(w) for w in words) or _MIN.search(last) and not _MAX.search(last):
        return "min"
    if any(_MAX.fullmatch(w) for w in words):
        return "max"
    return None


def flatten(values: Mapping[str, Any] | None, prefix: str = "") -> dict[str, Any]:
    """Nested metrics become dotted names, as ``--by val.loss`` and ``rank`` spell them."""
    out: dict[str, Any] = {}
    for key, value in (values or {}).items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            out.update(flatten(value, name))
        else:
            out[name] = value
    return out


def number(value: Any) -> float | None:
    """A metric as a float; NaN/inf saved as strings ("nan", "inf") come back as floats."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and value.strip().lower() in ("nan", "inf", "-inf", "+inf"):
        return float(value)
    return None


def direction(goal: str | None, delta: float) -> str:
    if delta == 0:
        return "same"
    if goal is None:
        return "n/a"
    return "better" if (delta < 0) == (goal == "min") else "worse"


def delta(name: str, old: Any, new: Any, goals: Mapping[str, str]) -> MetricDelta:
    goal = goal_for(name, goals)
    x, y = number(old), number(new)
    if x is None or y is None or not (math.isfinite(x) and math.isfinite(y)):
        change = "same" if old == new else "changed"
        return MetricDelta(name, old, new, change, goal=goal,
                           direction="same" if change == "same" else "n/a")
    diff = y - x
    rel = diff / abs(x) if x != 0 else None
    return MetricDelta(name, old, new, "same" if diff == 0 else "changed", diff, rel, goal,
                       direction(goal, diff))


def compare(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None,
            goals: Mapping[str, str]) -> list[MetricDelta]:
    """Every metric of either side; one present on one side only is ``added``/``removed``."""
    old, new = flatten(a), flatten(b)
    rows = []
    for name in sorted(set(old) | set(new)):
        if name not in new:
            rows.append(MetricDelta(name, old[name], None, "removed", goal=goal_for(name, goals)))
        elif name not in old:
            rows.append(MetricDelta(name, None, new[name], "added", goal=goal_for(name, goals)))
        else:
            rows.append(delta(name, old[name], new[name], goals))
    return rows


def regression(row: MetricDelta, threshold: float) -> bool:
    """Worse by more than ``threshold``, relative to the old value (absolute when old is 0)."""
    if row.direction != "worse" or row.abs_delta is None:
        return False
    size = abs(row.rel_delta) if row.rel_delta is not None else abs(row.abs_delta)
    return size > threshold
