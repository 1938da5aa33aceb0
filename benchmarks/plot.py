"""Plot the scale curves of a results file (rows with ``curve`` and ``n``) as a small PNG.

One panel per benchmark module (list, verify, gc, stages/history, and the 100-100,000 curves
of ``scale.py``), each curve solid beside its baseline dashed, both axes logarithmic: a
straight line of slope 1 is linear growth.

    python benchmarks/plot.py [benchmarks/results/latest.json] [docs/performance-scale.png]
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def _panels(rows: list[dict[str, Any]]) -> dict[str, dict[str, list[tuple[int, float]]]]:
    """module -> label -> points; baselines get a "(baseline)" label of their own."""
    out: dict[str, dict[str, list[tuple[int, float]]]] = {}
    for r in rows:
        if not r.get("curve"):
            continue
        panel = out.setdefault(str(r.get("module") or "scale"), {})
        if r.get("ours_s") is not None:
            panel.setdefault(str(r["curve"]), []).append((int(r["n"]), float(r["ours_s"])))
        if r.get("baseline_s") is not None and r.get("baseline"):
            panel.setdefault(f"{r['baseline']} (baseline)", []).append(
                (int(r["n"]), float(r["baseline_s"])))
    return out


def plot(results: Path, out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = _panels(json.loads(results.read_text())["rows"])
    cols = 2 if len(panels) > 1 else 1
    rows_n = max(1, math.ceil(len(panels) / cols))
    fig, axes = plt.subplots(rows_n, cols, figsize=(7.5 * cols, 3.6 * rows_n), dpi=100,
                             squeeze=False)
    for ax, (module, curves) in zip(axes.flat, sorted(panels.items()), strict=False):
        for i, (label, points) in enumerate(curves.items()):
            by_n: dict[int, list[float]] = {}
            for n, y in points:  # a baseline shared by several curves: its median per size
                by_n.setdefault(n, []).append(y)
            xs = sorted(by_n)
            ys = [sorted(by_n[n])[len(by_n[n]) // 2] for n in xs]
            ax.plot(xs, ys, marker="o", linestyle="--" if label.endswith("(baseline)") else "-",
                    label=label, color=plt.get_cmap("tab20")(i % 20))
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("checkpoints (or stage events for stages/history)")
        ax.set_ylabel("seconds (median)")
        ax.set_title(f"{module}.py")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))  # off the points
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    return out


if __name__ == "__main__":
    args = sys.argv[1:]
    source = Path(args[0]) if args else HERE / "results" / "latest.json"
    target = Path(args[1]) if len(args) > 1 else HERE.parent / "docs" / "performance-scale.png"
    print(plot(source, target))
