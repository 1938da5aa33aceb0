"""Distribution shifts between two checkpoints, from what their sidecars record.

Sidecar format (documented in docs/compare.md), one entry per name under ``distributions:``::

    distributions:
      val_scores:                    # a histogram of anything: scores, logits, activations
        kind: histogram
        edges: [0.0, 0.25, 0.5, 0.75, 1.0]   # optional; n + 1 bin edges
        counts: [12, 40, 33, 15]             # n counts (or densities)
      calibration:                   # a reliability diagram
        kind: calibration
        confidence: [0.1, 0.3, 0.5, 0.7, 0.9]  # mean predicted confidence per bin
        accuracy: [0.12, 0.28, 0.55, 0.66, 0.93]  # observed accuracy per bin
        counts: [50, 120, 300, 220, 310]       # samples per bin

Histograms are compared with the Jensen-Shannon distance (base 2, so 0 = same shape and
1 = disjoint), calibration curves by the change in expected calibration error (ECE).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ckptgit.compare.result import DistributionShift


def kind_of(entry: Mapping[str, Any]) -> str:
    return str(entry.get("kind") or ("calibration" if "confidence" in entry else "histogram"))


def js_distance(p: list[float], q: list[float]) -> float:
    """sqrt of the Jensen-Shannon divergence, base 2, of two histograms over the same bins."""
    import numpy as np

    x, y = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1 or (x < 0).any() or (y < 0).any():
        raise ValueError("histograms need the same number of non-negative bins")
    if x.sum() <= 0 or y.sum() <= 0:
        raise ValueError("a histogram has no mass")
    x, y = x / x.sum(), y / y.sum()
    m = (x + y) / 2

    def kl(u: Any) -> float:
        nz = u > 0  # 0 * log 0 = 0
        return float(np.sum(u[nz] * np.log2(u[nz] / m[nz])))

    return math.sqrt(max(0.0, (kl(x) + kl(y)) / 2))


def ece(entry: Mapping[str, Any]) -> float:
    """Expected calibration error: sample-weighted mean |accuracy - confidence| over bins."""
    import numpy as np

    conf = np.asarray(entry["confidence"], dtype=np.float64)
    acc = np.asarray(entry["accuracy"], dtype=np.float64)
    counts = np.asarray(entry.get("counts") or [1] * len(conf), dtype=np.float64)
    if not (conf.shape == acc.shape == counts.shape) or counts.sum() <= 0:
        raise ValueError("confidence, accuracy and counts need the same length and some samples")
    return float(np.sum(counts * np.abs(acc - conf)) / counts.sum())


def compare(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None,
            js_threshold: float, ece_threshold: float) -> list[DistributionShift]:
    """One row per distribution that changed, largest shift first; ``flagged`` over threshold."""
    old, new = dict(a or {}), dict(b or {})
    rows = []
    for name in sorted(set(old) | set(new)):
        if name not in new or name not in old:
            entry = old.get(name) or new.get(name) or {}
            rows.append(DistributionShift(name, kind_of(entry),
                                          "removed" if name not in new else "added"))
            continue
        if old[name] == new[name]:
            continue
        rows.append(_shift(name, old[name], new[name], js_threshold, ece_threshold))
    rows.sort(key=lambda r: (-(r.distance if r.distance is not None else -1.0), r.name))
    return rows


def _shift(name: str, x: Mapping[str, Any], y: Mapping[str, Any],
           js_threshold: float, ece_threshold: float) -> DistributionShift:
    kind = kind_of(x)
    if kind != kind_of(y):
        return DistributionShift(name, kind, "incomparable", note="kinds differ")
    try:
        if kind == "calibration":
            before, after = ece(x), ece(y)
            delta = after - before
            return DistributionShift(name, kind, "changed", delta, before, after, ece_threshold,
                                     abs(delta) > ece_threshold)
        if x.get("edges") is not None and y.get("edges") is not None and x["edges"] != y["edges"]:
            return DistributionShift(name, kind, "incomparable", note="bin edges differ")
        dist = js_distance(list(x["counts"]), list(y["counts"]))
        return DistributionShift(name, kind, "changed", dist, threshold=js_threshold,
                                 flagged=dist > js_threshold)
    except (KeyError, TypeError, ValueError) as exc:
        return DistributionShift(name, kind, "incomparable", note=str(exc) or "malformed")
