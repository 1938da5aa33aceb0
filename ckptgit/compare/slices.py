"""Per-slice metric deltas, sorted by impact: which data slices a gain or loss comes from.

Sidecar format (docs/compare.md)::

    slices:
      lang=en: {accuracy: 0.91, n: 1200}
      lang=de: {accuracy: 0.85, n: 300}

``n`` (or ``count``) is the slice's number of samples. Impact is the delta weighted by the
slice's share of samples, so slices that moved a lot but hold few samples rank below ones
that moved the overall metric; without sizes every slice weighs the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ckptgit.compare import metrics
from ckptgit.compare.result import SliceDelta

_SIZE_KEYS = ("n", "count", "samples", "support")


def _size(entry: Mapping[str, Any]) -> float | None:
    for key in _SIZE_KEYS:
        value = metrics.number(entry.get(key))
        if value is not None:
            return value
    return None


def compare(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None,
            goals: Mapping[str, str]) -> list[SliceDelta]:
    old, new = dict(a or {}), dict(b or {})
    names = sorted(set(old) | set(new))
    sizes = {s: _size(new.get(s) or old.get(s) or {}) for s in names}
    total = sum(v for v in sizes.values() if v is not None)
    rows = []
    for name in names:
        x, y = old.get(name) or {}, new.get(name) or {}
        size = sizes[name]
        weight = size / total if total and size is not None else 1 / len(names)
        for metric in sorted((set(x) | set(y)) - set(_SIZE_KEYS)):
            rows.extend(_row(name, metric, x, y, weight, goals))
    rows.sort(key=lambda r: (-(abs(r.impact) if r.impact is not None else -1.0), r.slice,
                             r.metric))
    return rows


def _row(name: str, metric: str, x: Mapping[str, Any], y: Mapping[str, Any], weight: float,
         goals: Mapping[str, str]) -> list[SliceDelta]:
    if metric not in y:
        return [SliceDelta(name, metric, x[metric], None, None, None, change="removed")]
    if metric not in x:
        return [SliceDelta(name, metric, None, y[metric], None, None, change="added")]
    row = metrics.delta(metric, x[metric], y[metric], goals)
    if row.change == "same":
        return []
    impact = row.abs_delta * weight if row.abs_delta is not None else None
    return [SliceDelta(name, metric, row.old, row.new, row.abs_delta, impact, row.direction)]
