"""``git ckpt verify --all`` against ``openssl dgst -sha256`` over the same bytes, in one run.

A training run of N checkpoints of one model (N saves of one path): verify reads every cache
object and the work-tree copy of the newest, hashing files in parallel; openssl hashes the N
cache objects in one process. Target: at least 80 % of openssl's throughput, i.e. our wall
time at most 1.25 x openssl's, start-up of the real ``git ckpt`` process included.

    python benchmarks/verify.py            # 20 x 50 MB
    python benchmarks/verify.py --quick    # 4 x 8 MB
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET = 1.25  # ours_s / openssl_s; 1 / 1.25 = 80 % of openssl's throughput


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
             "passed": ratio <= TARGET}]


def main() -> None:
    rows = run("--quick" in sys.argv)
    for row in rows:
        print(json.dumps(row))
    sys.exit(0 if all(r["passed"] for r in rows) else 1)


if __name__ == "__main__":
    main()
