"""``git ckpt gc --dry-run`` at 100 / 1,000 / 10,000 checkpoints against ``dvc gc --dry``.

A history synthesized like ``listing.py``'s (``_synth.py``) whose every save has its own 4 KiB
object in the DVC cache, plus one unnamed object per ten saves (the bytes of saves killed
before their commit, two hours old). Both tools are asked the same question: what in the cache
does no commit name? DVC's form is ``dvc gc --dry --all-commits --workspace``, which reads the
``.dvc`` files of every commit one revision at a time; it is capped at ``DVC_CAP`` seconds.
Every timed gc of ours is checked: it must keep the n saves and find exactly the unnamed ones.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import time
from pathlib import Path
from typing import Any

import _synth
import common
from common import Sandbox

ARTIFACT = 4 << 10
DVC_CAP = 120.0  # seconds; DVC walks every commit, and 10,000 of them take far longer


def run(quick: bool) -> list[dict[str, Any]]:
    if not common.has_command("gc"):
        return [common.na("gc --dry-run", "git ckpt gc does not exist yet")]
    rounds = {100: 3} if quick else {100: 5, 1000: 3, 10000: 1}
    return [_point(box, repo, n, _unnamed_objects(repo, n // 10), times)
            for box, repo, n, _, times in _synth.sizes("gc", rounds, ARTIFACT)]


def _unnamed_objects(repo: Path, count: int) -> set[str]:
    """Objects in DVC's layout that no commit names, as a killed save leaves them."""
    rng = random.Random(count)
    old = time.time() - 7200
    made = set()
    for _ in range(count):
        data = rng.randbytes(ARTIFACT)
        md5 = hashlib.md5(data).hexdigest()  # noqa: S324 - DVC's object address
        path = _synth.object_path(repo, md5)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.utime(path, (old, old))
        made.add(md5)
    return made


def _point(box: Sandbox, repo: Path, n: int, garbage: set[str], rounds: int) -> dict[str, Any]:
    def ours() -> None:
        plan = json.loads(box.sh(["git", "ckpt", "gc", "--dry-run", "--grace", "1h", "--json"],
                                 repo).stdout)
        found = {g["oid"] for g in plan["collectable"]}
        if found != garbage or plan["kept"] != n:
            raise RuntimeError(f"gc at {n}: kept {plan['kept']}, found {len(found)} of "
                               f"{len(garbage)} unnamed objects")

    capped: list[bool] = []

    def dvc() -> None:
        try:
            box.sh(["dvc", "gc", "--dry", "--all-commits", "--workspace", "--force", "-q"], repo,
                   timeout=DVC_CAP)
        except subprocess.TimeoutExpired:
            capped.append(True)

    contenders = {"ours": ours} if n > 1000 else {"ours": ours, "dvc": dvc}
    times = common.interleave(contenders, rounds)
    med = {k: common.median(v) for k, v in times.items()}
    base = None if capped or "dvc" not in med else med["dvc"]
    note = ("" if base is not None else
            f"dvc gc --dry -A not run at {n:,} commits (about 20 ms a commit: minutes)"
            if "dvc" not in med else f"dvc gc --dry -A did not finish in {DVC_CAP:g} s")
    return common.row(f"gc --dry-run at {n:,} checkpoints", med["ours"], base,
                      baseline_name="dvc gc --dry -A -w", curve="gc --dry-run", n=n, note=note,
                      samples={k: [round(x, 3) for x in v] for k, v in times.items()})


if __name__ == "__main__":
    common.main(run)
