"""``git ckpt verify --all`` against ``openssl dgst -sha256`` over the same bytes, in one run.

A training run of N checkpoints of one model (N saves of one path): verify reads every cache
object and the work-tree copy of the newest, hashing files in parallel; openssl hashes the N
cache objects in one process. Target: at least 80 % of openssl's throughput, i.e. our wall
time at most 1.25 x openssl's, start-up of the real ``git ckpt`` process included.

Then the scale curve: ``verify --all --offline`` at 100 / 1,000 / 10,000 checkpoints of 4 KiB
each (only 100 with ``--quick``), in a history synthesized like ``listing.py``'s
(``_synth.py``) whose every artifact has its own bytes in the DVC cache; the same objects
through one ``openssl dgst -sha256`` are the floor. No target: the curve is for reading.

    python benchmarks/verify.py            # 20 x 50 MB, then the curve
    python benchmarks/verify.py --quick    # 4 x 8 MB, then 100 checkpoints
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _synth
import common

TARGET = 1.25  # ours_s / openssl_s; 1 / 1.25 = 80 % of openssl's throughput
ARTIFACT = 4 << 10  # bytes per checkpoint on the scale curve


def _env(base: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"HOME": str(base / "home"), "GIT_CONFIG_NOSYSTEM": "1",
                "GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
                "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "bench@example.com",
                "DVC_NO_ANALYTICS": "1", "DVC_SITE_CACHE_DIR": str(base / "dvc-site"),
                "PATH": str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")})
    (base / "home").mkdir(exist_ok=True)
    return env


def _setup(base: Path, count: int, size: int, env: dict[str, str]) -> tuple[Path, list[Path]]:
    repo = base / "repo"
    repo.mkdir()
    run = lambda *a: subprocess.run(a, cwd=repo, env=env, check=True, capture_output=True)  # noqa: E731
    run("git", "init", "-q", "-b", "main")
    (repo / "train.py").write_text("print('train')\n")
    run("git", "add", "train.py")
    run("git", "commit", "-q", "-m", "init")
    run("git", "ckpt", "init", "--remote", str(base / "remote"))
    model = repo / "models" / "big.bin"
    model.parent.mkdir()
    for epoch in range(count):
        with open(model, "wb") as fh:
            fh.write(os.urandom(size))
        run("git", "ckpt", "save", "models/big.bin", "-n", "big", "--step", str(epoch), "-q")
    objects = sorted(p for p in (repo / ".dvc" / "cache" / "files" / "md5").rglob("*")
                     if p.is_file() and p.parent.name != "tmp")
    return repo, objects


def _best(argv: list[str], cwd: Path, env: dict[str, str], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, check=False)
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(argv[:3])} failed: {done.stderr.decode()[-400:]}")
        best = min(best, elapsed)
    return best


def run(quick: bool) -> list[dict[str, object]]:
    count, size = (4, 8 << 20) if quick else (20, 50 << 20)
    with tempfile.TemporaryDirectory(prefix="ckpt-bench-verify-") as tmp:
        base = Path(tmp)
        env = _env(base)
        repo, objects = _setup(base, count, size, env)
        openssl = ["openssl", "dgst", "-sha256", *map(str, objects)]
        ours = ["git", "ckpt", "verify", "--all", "--offline", "-q"]
        _best(openssl, repo, env, 1)  # warm the page cache for both
        repeat = 3 if quick else 5
        baseline_s = _best(openssl, repo, env, repeat)
        ours_s = _best(ours, repo, env, repeat)
    ratio = ours_s / baseline_s
    work = f"verify --all, {count} x {size >> 20} MB checkpoints (openssl over the same objects)"
    return [{"work": work, "ours_s": round(ours_s, 3), "baseline_s": round(baseline_s, 3),
             "ratio": round(ratio, 3), "target": f"<= {TARGET} (>= 80 % of openssl throughput)",
             "passed": None if quick else ratio <= TARGET,
             "note": "--quick: start-up dominates 32 MB, not judged" if quick else ""},
            *_scale(quick)]


def _scale(quick: bool) -> list[dict[str, Any]]:
    # about 2 ms a checkpoint on two cores (every sidecar is parsed and checked against the
    # schema): one round at 10,000 keeps the run to about a minute
    rounds = {100: 3} if quick else {100: 5, 1000: 3, 10000: 1}
    return [_scale_point(box, repo, n, objects, times)
            for box, repo, n, objects, times in _synth.sizes("verify", rounds, ARTIFACT)]


def _scale_point(box: common.Sandbox, repo: Path, n: int, objects: list[Path],
                 rounds: int) -> dict[str, Any]:
    """Every timed verify is checked: exit 0 (``box.sh``), n checkpoints, all ok."""
    dirty = box.git(repo, "status", "--porcelain")
    if dirty:
        raise RuntimeError(f"synthetic history left the work tree dirty: {dirty[:200]}")
    box.sh(["git", "ckpt", "list"], repo)  # build the index, as any earlier command would
    hashed: list[int] = []

    def ours() -> None:
        report = json.loads(box.sh(["git", "ckpt", "verify", "--all", "--offline", "--json"],
                                   repo).stdout)
        states = [c["status"] for c in report["checkpoints"]]
        if len(states) != n or set(states) != {"ok"} or report["bytes_hashed"] != n * ARTIFACT:
            raise RuntimeError(f"verify at {n}: {len(states)} checkpoints, "
                               f"{states.count('ok')} ok, {report['bytes_hashed']} bytes hashed")
        hashed.append(report["bytes_hashed"])

    cache = objects[0].parent.parent
    openssl = ["openssl", "dgst", "-sha256", *(str(p.relative_to(cache)) for p in objects)]
    times = common.interleave({"ours": ours, "openssl": lambda: box.sh(openssl, cache)}, rounds)
    med = {k: common.median(v) for k, v in times.items()}
    return common.row(f"verify --all at {n:,} checkpoints", med["ours"], med["openssl"],
                      baseline_name="openssl dgst -sha256", curve="verify", n=n,
                      mib_hashed=round(hashed[0] / common.MiB, 1),
                      samples={k: [round(x, 3) for x in v] for k, v in times.items()})


def main() -> None:
    rows = run("--quick" in sys.argv)
    for row in rows:
        print(json.dumps(row))
    sys.exit(0 if all(r["passed"] is not False for r in rows) else 1)


if __name__ == "__main__":
    main()
