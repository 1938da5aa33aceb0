"""Plot the scale curves of a results file (rows with ``curve`` and ``n``) as a small PNG.

    python benchmarks/plot.py [benchmarks/results/latest.json] [docs/performance-scale.png]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def plot(results: Path, out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = json.loads(results.read_text())["rows"]
    curves: dict[str, list[tuple[int, float]]] = {}
    for r in rows:
        if r.get("curve") and r.get("ours_s") is not None:
            curves.setdefault(r["curve"], []).append((int(r["n"]), float(r["ours_s"])))
    floors: dict[str, list[tuple[int, float]]] = {}
    for r in rows:
        if r.get("curve") and r.get("baseline_s") is not None and r.get("baseline"):
            floors.setdefault(str(r["baseline"]), []).append(
                (int(r["n"]), float(r["baseline_s"])))
    fig, ax = plt.subplots(figsize=(7.5, 3.6), dpi=100)
    for label, points in [*curves.items(), *floors.items()]:
        xs, ys = zip(*sorted(set(points)), strict=True)
        dashed = label in floors  # baselines dashed, ours solid
        ax.plot(xs, ys, marker="o", linestyle="--" if dashed else "-", label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("checkpoints (list, verify, gc) or promotion tags (stages, history)")
    ax.set_ylabel("seconds (median)")
    ax.set_title("ckptgit scale curves")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))  # off the points
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    return out


if __name__ == "__main__":
    args = sys.argv[1:]
    source = Path(args[0]) if args else HERE / "results" / "latest.json"
    target = Path(args[1]) if len(args) > 1 else HERE.parent / "docs" / "performance-scale.png"
    print(plot(source, target))
