"""Saving a big checkpoint: ``git ckpt save`` against md5sum and ``dvc add`` + ``git commit``.

Every contender gets NEW content each round (a few bytes rewritten in place), so everyone
really hashes and copies; the file is warm in the page cache for all of them (training has
just written it), and dirty pages of the previous run are written back (``sync``) before
each timed run, untimed, so nobody pays for someone else's writeback. Cache objects of the
previous round are deleted before the next one, untimed, to bound disk use.
"""

from __future__ import annotations

import json
import shutil
import statistics
import sys
from pathlib import Path
from typing import Any

import common
from common import GiB, MiB, Sandbox

ARTIFACT = "models/model.bin"

_BACKGROUND_SCRIPT = """
import json, os, sys, time
import ckptgit
path, rounds = sys.argv[1], int(sys.argv[2])
calls, totals = [], []
for i in range(rounds):
    with open(path, "r+b") as fh:
        fh.write(i.to_bytes(8, "little") + os.urandom(8))
    os.sync()
    start = time.perf_counter()
    # each save lands before the file is rewritten, so a guarded read in place is safe here
    # (a path saved again is otherwise copied first; benchmarks/training.py measures that)
    future = ckptgit.save(path, "bg", background=True, snapshot=False, metrics={"round": i})
    calls.append(time.perf_counter() - start)
    future.result()
    totals.append(time.perf_counter() - start)
print(json.dumps({"calls": calls, "totals": totals}))
"""


def run(quick: bool) -> list[dict[str, Any]]:
    size, rounds = (64 * MiB, 3) if quick else (GiB, 5)
    label = f"{size // MiB} MiB" if size < GiB else f"{size // GiB} GiB"
    with common.sandbox("save") as box:
        rows = _save_rows(box, size, rounds, label)
        if quick:  # fixed costs dominate small files: the ratios are targets for 1 GiB
            for r in rows:
                r["passed"] = None
                r["note"] = (r.get("note", "") + "; targets apply at 1 GiB (full run)").lstrip("; ")
        rows.append(_background_row(box, size, rounds, label))
        rows.append(_fixed_cost_row(box, 3 if quick else 7))
    return rows


def _fixed_cost_row(box: Sandbox, rounds: int) -> dict[str, Any]:
    """A 4 MiB save, where the bytes cost little: what every save pays besides them (imports,
    git processes), against ``dvc add`` + ``git commit`` of the same file; CPU beside wall, and
    the git processes one save starts (counted from ``GIT_TRACE``)."""
    ours, plain = box.ckpt_repo("small"), box.dvc_repo("small-dvc")
    for repo in (ours, plain):
        common.write_random(repo / ARTIFACT, 4 * MiB)
    trace = box.base / "git-trace"

    def dvc_add_commit() -> None:
        box.sh(["dvc", "add", "-q", ARTIFACT], plain)
        box.sh(["git", "add", f"{ARTIFACT}.dvc", "models/.gitignore"], plain)
        box.sh(["git", "commit", "-q", "-m", "add model"], plain)

    def ckpt_save() -> None:
        trace.unlink(missing_ok=True)
        box.sh(["git", "ckpt", "save", ARTIFACT, "-n", "small", "-q"], ours,
               env={"GIT_TRACE": str(trace)})

    def before(case: str, i: int) -> None:
        repo = ours if case == "ours" else plain
        (repo / ARTIFACT).chmod(0o644)
        common.perturb(repo / ARTIFACT, i)
        common.settle()

    cpu: dict[str, list[float]] = {}
    times = common.interleave({"ours": ckpt_save, "dvc": dvc_add_commit}, rounds, before, cpu)
    # every git process traces its start once ("trace: built-in: git …"); the 'git ckpt'
    # dispatch that starts the save traces as "exec:" and is not counted
    gits = sum(": built-in: git " in line for line in trace.read_text().splitlines())
    med = {k: common.median(v) for k, v in times.items()}
    return common.row(
        "save 4 MiB (the fixed cost) vs dvc add+commit", med["ours"], med["dvc"],
        baseline_name="dvc add+git commit",
        note=f"median of {rounds}; CPU {common.median(cpu['ours']) * 1000:.0f} ms vs "
             f"{common.median(cpu['dvc']) * 1000:.0f} ms; {gits} git processes per save",
        git_processes=gits)


def _save_rows(box: Sandbox, size: int, rounds: int, label: str) -> list[dict[str, Any]]:
    ours = box.ckpt_repo("ours")
    plain = box.dvc_repo("dvc-default")
    linked = box.dvc_repo("dvc-hardlink", cache_type="hardlink")
    for repo in (ours, plain, linked):
        common.write_random(repo / ARTIFACT, size)
    md5sum = shutil.which("md5sum")

    def dvc_add_commit(repo: Path) -> None:
        box.sh(["dvc", "add", "-q", ARTIFACT], repo)
        box.sh(["git", "add", f"{ARTIFACT}.dvc", "models/.gitignore"], repo)
        box.sh(["git", "commit", "-q", "-m", "add model"], repo)

    cases = {
        "ours": lambda: box.sh(["git", "ckpt", "save", ARTIFACT, "-n", "model", "-q"], ours),
        "dvc": lambda: dvc_add_commit(plain),
        "dvc-hardlink": lambda: dvc_add_commit(linked),
    }
    if md5sum:
        cases["md5sum"] = lambda: box.sh([md5sum, str(ours / ARTIFACT)])
    repo_of = {"ours": ours, "dvc": plain, "dvc-hardlink": linked}

    def before(case: str, i: int) -> None:
        repo = repo_of.get(case)
        if repo is not None:
            shutil.rmtree(repo / ".dvc" / "cache", ignore_errors=True)
            target = repo / ARTIFACT
            target.chmod(0o644)  # DVC leaves hardlinked outputs read-only
            common.perturb(target, i)
        common.settle()

    times = common.interleave(cases, rounds, before)
    med = {k: common.median(v) for k, v in times.items()}
    note = f"median of {rounds}, warm page cache, sync before each run"
    samples = {k: [round(x, 3) for x in v] for k, v in times.items()}
    rows = []
    if md5sum:
        rows.append(common.row(f"save {label} vs md5sum", med["ours"], med["md5sum"],
                               baseline_name="md5sum", max_ratio=1.3, note=note,
                               samples=samples))
    else:
        rows.append(common.na(f"save {label} vs md5sum", "md5sum not installed", "≤ 1.3×"))
    rows.append(common.row(f"save {label} vs dvc add+commit", med["ours"], med["dvc"],
                           baseline_name="dvc add+git commit", max_ratio=0.4))
    rows.append(common.row(f"save {label} vs dvc add (hardlink)", med["ours"],
                           med["dvc-hardlink"], baseline_name="dvc add+commit, hardlink"))
    return rows


def _background_row(box: Sandbox, size: int, rounds: int, label: str) -> dict[str, Any]:
    """``save(background=True)`` in a fresh Python process: the first call pays the imports."""
    repo = box.ckpt_repo("background")
    target = common.write_random(repo / ARTIFACT, size)
    common.settle()
    done = box.sh([sys.executable, "-c", _BACKGROUND_SCRIPT, str(target), str(rounds)], repo)
    result = json.loads(done.stdout)
    calls, totals = result["calls"], result["totals"]
    return common.row(
        f"save(background=True) {label}: call returns", max(calls), statistics.median(totals),
        baseline_name="until saved", max_seconds=0.05,
        note=f"worst of {rounds} calls (first one imports); median call "
             f"{statistics.median(calls) * 1000:.1f} ms",
    )


if __name__ == "__main__":
    common.main(run)
