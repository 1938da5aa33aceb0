"""Policy figures (issue 15): guardrail evaluation, ``prune --dry-run`` at scale, and what 50
guardrails add to a save.

Targets: 50 rules on one checkpoint ≤ 20 ms (in process, after the first evaluation compiled
them; the first is reported in the note); ``git ckpt prune --dry-run`` over 10,000 checkpoints
≤ 2 s (synthetic history, ``_synth.py``); ``git ckpt save`` with 50 guardrails ≤ 1.05 × the
same save without (a 1 GiB file, 256 MiB with ``--quick``: the rules compile while the bytes
hash). The save ratio is noisy on shared cores (single runs 0.89-1.30x, and writeback stalls
make both arms' samples bimodal): it is the median of the per-pair ratios of 7 interleaved
pairs (5 with ``--quick``) whose order alternates every round, as the rolling-save row in
``training.py`` is judged; the two saves of a pair run seconds apart, so load from elsewhere
moves both alike. The ratio of the medians is given in the note, with CPU seconds.

    python benchmarks/policy.py [--quick]
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import _synth
import common

RETENTION = """
retention:
  keep_last: 5
  keep_best: {metric: acc, count: 3}
  keep_labels: [keep]
  max_age_days: {pii: 30}
"""


def guardrails(n: int) -> str:
    """``n`` rules over every part of a checkpoint, none of which fires on the template."""
    shapes = [
        ("forbid", 'params.lr > 0.{i} && params.optimizer == "sgd"'),
        ("require", "has(seeds.torch) || seeds.size() >= 0"),
        ("forbid", '"pii-{i}" in labels'),
        ("forbid", 'data.exists(d, "pii" in d.labels) && stage == "production"'),
        ("forbid", 'code.dirty && stage == "production"'),
        ("require", "!has(metrics.acc) || metrics.acc >= 0.0{i}"),
        ("forbid", 'environment.python.startsWith("2.")'),
        ("forbid", "has(params.batch_size) && params.batch_size > 100000"),
    ]
    lines = ["guardrails:"]
    for i in range(n):
        kind, expr = shapes[i % len(shapes)]
        lines += [f"  - id: rule-{i}", f"    {kind}: '{expr.format(i=i % 9 + 1)}'",
                  "    on: [save, push]"]
    return "\n".join(lines) + "\n"


def run(quick: bool) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with common.sandbox("policy") as box:
        template = _synth.template(box)
        rows.append(_evaluate(template))
        rows.append(_prune(box, template, 1000 if quick else 10000))
        rows.append(_save(box, (256 if quick else 1024) * common.MiB, 5 if quick else 7))
    return rows


def _evaluate(template: dict[str, Any]) -> dict[str, Any]:
    from ckptgit import sidecar
    from ckptgit.policy import settings
    from ckptgit.policy.guardrails import Subject, evaluate

    start = time.perf_counter()
    policy = settings.from_text(guardrails(50))
    compiling = time.perf_counter() - start
    value = sidecar.value_of(template)
    subject = Subject(value, value)
    first = common.timed(lambda: evaluate(policy.guardrails, subject, "save"))
    verdict = evaluate(policy.guardrails, subject, "save")
    fired = [o.rule for o in verdict.fired if not o.background]
    if fired or len(verdict.outcomes) < 50:
        raise RuntimeError(f"the benchmark rules should all pass: {fired}")
    samples = [common.timed(lambda: evaluate(policy.guardrails, subject, "save"))
               for _ in range(30)]
    return common.row("50 guardrails on one checkpoint (+ check's 7 rules)",
                      common.median(samples), None, max_seconds=0.020,
                      note=f"parsing and compiling the 50 rules: {compiling * 1000:.0f} ms, "
                           f"first evaluation: {first * 1000:.0f} ms")


def _prune(box: common.Sandbox, template: dict[str, Any], n: int) -> dict[str, Any]:
    repo = box.ckpt_repo(f"prune-{n}")
    _synth.synthesize(box, repo, template, n)
    config = repo / ".ckpt" / "config.yaml"
    config.write_text(config.read_text() + RETENTION)
    box.sh(["git", "ckpt", "list", "--limit", "1"], repo)  # the index, as a warm repository has
    # the first run reads every sidecar for companions and data inputs (then kept by commit)
    cold = common.timed(lambda: box.sh(["git", "ckpt", "prune", "--dry-run", "--json"], repo))
    times = common.interleave({"prune": lambda: box.sh(["git", "ckpt", "prune", "--dry-run",
                                                        "--json"], repo),
                               "list": lambda: box.sh(["git", "ckpt", "list", "--json"], repo)},
                              3)
    target = {"max_seconds": 2.0} if n >= 10000 else {}
    return common.row(f"prune --dry-run, {n:,} checkpoints", common.median(times["prune"]),
                      common.median(times["list"]), baseline_name="list --json",
                      note=f"first run (every sidecar read once): {cold:.2f} s", **target)


def _byte_compiled() -> None:
    """The installed packages byte-compiled, as ``pip install`` leaves them: a venv made with
    ``--no-compile`` under ``PYTHONDONTWRITEBYTECODE`` compiles their source at every run
    (~1.5 s a save here, most of it in celpy and pendulum, which only a guarded save imports),
    a cost no installed ckptgit pays. Up-to-date files are skipped."""
    import subprocess
    import sys
    import sysconfig

    subprocess.run([sys.executable, "-m", "compileall", "-q", sysconfig.get_paths()["purelib"]],
                   check=False, capture_output=True)


def _save(box: common.Sandbox, size: int, rounds: int) -> dict[str, Any]:
    _byte_compiled()
    plain, guarded = box.ckpt_repo("save-plain"), box.ckpt_repo("save-guarded")
    config = guarded / ".ckpt" / "config.yaml"
    config.write_text(config.read_text() + guardrails(50))
    box.git(guarded, "commit", "-q", "-m", "guardrails", ".ckpt/config.yaml")
    for repo in (plain, guarded):
        common.write_random(repo / "models" / "m.bin", size)
    counter = iter(range(10_000))

    def before(case: str, i: int) -> None:
        repo = plain if case == "without" else guarded
        common.perturb(repo / "models" / "m.bin", next(counter))
        common.settle()

    def save(repo: Path) -> None:
        box.sh(["git", "ckpt", "save", "models/m.bin", "-n", "m", "-q", "--param", "lr=0.01",
                "--seed", "torch=1"], repo)

    cpu: dict[str, list[float]] = {}
    times = _alternating({"without": lambda: save(plain), "with": lambda: save(guarded)},
                         rounds, before, cpu)
    save(guarded)  # warm: what the guardrails add, measured apart from the bytes
    added = [common.timed(lambda: box.sh(["git", "ckpt", "policy", "check", "m", "--json"],
                                         guarded, check=False)) for _ in range(5)]
    med = {k: common.median(v) for k, v in times.items()}
    cpu_med = {k: round(common.median(v), 2) for k, v in cpu.items()}
    row = common.row(f"save {size // common.MiB} MiB with 50 guardrails", med["with"],
                     med["without"], baseline_name="the same save without guardrails",
                     max_ratio=1.05,
                     note=f"ratio = median of the per-pair ratios of {rounds} interleaved pairs "
                          f"(order alternates each round; of medians: "
                          f"{med['with'] / med['without']:.2f}x); CPU seconds with "
                          f"{cpu_med['with']:.2f}, without {cpu_med['without']:.2f}; 'policy "
                          f"check' of the 50 rules alone: {common.median(added) * 1000:.0f} ms",
                     samples={k: [round(x, 3) for x in v] for k, v in times.items()},
                     cpu_s=cpu_med)
    paired = common.median([w / b for w, b in zip(times["with"], times["without"], strict=True)])
    row.update(ratio=paired, passed=paired <= 1.05)
    return row


def _alternating(cases: dict[str, Any], rounds: int, before: Any,
                 cpu: dict[str, list[float]] | None = None) -> dict[str, list[float]]:
    """Each case once per round, the order swapped every round (ABBA…), so a drift in the
    machine's load (2 shared cores) falls on both sides alike; compare medians, not means.
    With ``cpu``, each run's CPU seconds (this process and its children) too."""
    times: dict[str, list[float]] = {name: [] for name in cases}
    names = list(cases)
    for i in range(rounds):
        for name in names if i % 2 == 0 else names[::-1]:
            before(name, i)
            start = common.cpu_seconds()
            times[name].append(common.timed(cases[name]))
            if cpu is not None:
                cpu.setdefault(name, []).append(common.cpu_seconds() - start)
    return times


if __name__ == "__main__":
    common.main(run)
