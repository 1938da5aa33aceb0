"""``git ckpt list`` at 100 / 1,000 / 10,000 checkpoints, cold (no index) and warm.

Ten thousand real saves would take hours, so the history is synthesized with ONE
``git fast-import`` stream of valid save commits (``_synth.py``: real sidecars with fresh
ids, times, hashes, metrics, steps and parents; ``.dvc`` pointers; ``Ckpt-Id``/``Ckpt-Name``
trailers). The floor is ``git log`` selecting the same commits by trailer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import _synth
import common
from common import Sandbox


def run(quick: bool) -> list[dict[str, Any]]:
    sizes, rounds = ((100, 1000), 3) if quick else ((100, 1000, 10000), 5)
    rows: list[dict[str, Any]] = []
    with common.sandbox("list") as box:
        template = _synth.template(box)
        for n in sizes:
            repo = box.ckpt_repo(f"list-{n}")
            _synth.synthesize(box, repo, template, n)
            rows += _measure(box, repo, n, rounds)
    return rows


def _measure(box: Sandbox, repo: Path, n: int, rounds: int) -> list[dict[str, Any]]:
    # named after the version ckptgit writes: after the index moved to v2 this deleted
    # index-v1.json, so the "cold" runs found a current index
    from ckptgit import index as ckpt_index

    index_file = repo / ".git" / "ckpt" / f"index-v{ckpt_index.VERSION}.json"
    listed = box.sh(["git", "ckpt", "list", "--json"], repo).stdout
    import json

    found = len(json.loads(listed))
    if found != n + 1 - 1:  # the template repo's save is not in this repo: exactly n
        raise RuntimeError(f"list found {found} checkpoints in a history of {n}")

    def before(case: str, i: int) -> None:
        if case == "cold":
            index_file.unlink(missing_ok=True)

    cases = {
        "cold": lambda: box.sh(["git", "ckpt", "list"], repo),
        "warm": lambda: box.sh(["git", "ckpt", "list"], repo),
        "git log": lambda: box.sh(["git", "log", "--format=%H %(trailers:key=Ckpt-Id)",
                                   "--grep=^Ckpt-Id: ", "HEAD"], repo),
    }
    times = common.interleave(cases, rounds, before)
    med = {k: common.median(v) for k, v in times.items()}
    samples = {k: [round(x, 3) for x in v] for k, v in times.items()}
    label = f"{n:,}"
    warm_target = {"max_seconds": 0.5} if n == 10000 else {}
    return [
        common.row(f"list {label} checkpoints, cold", med["cold"], med["git log"],
                   baseline_name="git log --grep", curve="list cold", n=n, samples=samples),
        common.row(f"list {label} checkpoints, warm", med["warm"], med["git log"],
                   baseline_name="git log --grep", curve="list warm", n=n, **warm_target),
    ]


if __name__ == "__main__":
    common.main(run)
