"""Benchmark of ``git ckpt diff``: metadata + header diff, and ``--weights`` on large files.

Run:  python benchmarks/diff.py [--quick] [--size-mib N] [--tensors N] [--dir DIR]

- metadata: ``git ckpt diff A B`` end to end (a real subprocess) on two saved checkpoints of
  ``--tensors`` tensors each (default 1,000); target <= 0.5 s.
- weights: ``git ckpt diff A B --weights`` end to end on two saved files of ``--size-mib``
  (default 1 GiB) where every tensor changed, against the floor measured in the same run:
  reading both stored files once with numpy. Target <= 1.5x; peak RSS of the diff process is
  reported and must stay well under one file's size.

Both runs are warm (page cache filled by a first run), as a user's second look would be.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import save_file

HERE = Path(__file__).resolve().parent
ENV = {**os.environ, "DVC_NO_ANALYTICS": "1", "GIT_AUTHOR_NAME": "bench",
       "GIT_AUTHOR_EMAIL": "bench@example.com", "GIT_COMMITTER_NAME": "bench",
       "GIT_COMMITTER_EMAIL": "bench@example.com",
       "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")}


def sh(cwd: Path, *args: str) -> str:
    done = subprocess.run(args, cwd=cwd, env=ENV, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def timed(cwd: Path, *args: str) -> tuple[float, int]:
    """Wall time and peak RSS (bytes) of ``args``, measured by a small wrapper process: a
    child's peak RSS starts at its parent's RSS at fork, and this process may be large."""
    out = sh(cwd, sys.executable, __file__, "--measure", *args).split()
    return float(out[0]), int(out[1])


def measure(args: list[str]) -> tuple[float, int]:
    start = time.perf_counter()
    proc = subprocess.Popen(args, env=ENV, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(args)} exited {proc.returncode}: "
                         f"{proc.stderr.read().decode() if proc.stderr else ''}")
    return elapsed, usage.ru_maxrss * 1024


def new_repo(base: Path, name: str) -> Path:
    path = base / name
    path.mkdir()
    sh(path, "git", "init", "-q", "-b", "main")
    (path / "train.py").write_text("print('train')\n")
    sh(path, "git", "add", "train.py")
    sh(path, "git", "commit", "-q", "-m", "initial")
    sh(path, "git", "ckpt", "init", "--remote", str(base / f"{name}-remote"))
    return path


def save(repo: Path, tensors: dict[str, Any], *args: str) -> None:
    save_file(tensors, str(repo / "model.safetensors"), metadata={"format": "pt"})
    sh(repo, "git", "ckpt", "save", "model.safetensors", "--name", "m", "--quiet", *args)


def metadata_row(base: Path, count: int) -> dict[str, Any]:
    repo = new_repo(base, "meta")
    rng = np.random.default_rng(0)
    a = {f"model.layers.{i // 10}.block{i % 10}.weight": rng.standard_normal(64)
         .astype(np.float32) for i in range(count)}
    save(repo, a, "--param", "lr=0.1", "--metric", "acc=0.8", "--seed", "torch=1")
    b = dict(a)
    for i in range(0, count, 50):  # some reshaped, some added, some removed
        b[f"model.layers.{i // 10}.block{i % 10}.weight"] = np.zeros(32, dtype=np.float32)
        b[f"model.extra.{i}.weight"] = np.zeros(8, dtype=np.float32)
    del b["model.layers.0.block1.weight"]
    save(repo, b, "--param", "lr=0.05", "--metric", "acc=0.85", "--seed", "torch=1")
    cmd = ("git", "ckpt", "diff", "m~1", "m", "--format", "json")
    timed(repo, *cmd)  # warm
    runs = [timed(repo, *cmd)[0] for _ in range(5)]
    ours = statistics.median(runs)
    return {"work": f"diff (metadata + headers), {count:,} tensors", "ours_s": round(ours, 3),
            "baseline_s": None, "ratio": None, "target": "<= 0.5 s", "passed": ours <= 0.5}


def big_model(size: int, seed: int, tensor_mib: int = 64) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    per = tensor_mib << 20 >> 2  # float32 elements
    out = {}
    for i in range(max(1, size // (tensor_mib << 20))):
        out[f"model.layers.{i}.mlp.weight"] = rng.standard_normal(per, dtype=np.float32)
    return out


def read_both(paths: list[Path]) -> float:
    start = time.perf_counter()
    for p in paths:
        np.fromfile(p, dtype=np.uint8)
    return time.perf_counter() - start


def make_models(repo: Path, size: int) -> None:
    """Both saves in a child process: a child's peak RSS counts its parent's memory at fork,
    so this process must never hold the models while it measures the diff."""
    a = big_model(size, 1)
    save(repo, a)
    for t in a.values():  # every tensor changed: the worst case (no identical shortcut)
        t *= np.float32(1.01)
    save(repo, a)


def weights_row(base: Path, size: int) -> dict[str, Any]:
    repo = new_repo(base, "weights")
    sh(HERE, sys.executable, __file__, "--make-models", str(repo), str(size))
    cache = [p for p in (repo / ".dvc" / "cache" / "files" / "md5").rglob("*") if p.is_file()]
    big = sorted(cache, key=lambda p: p.stat().st_size)[-2:]
    cmd = ("git", "ckpt", "diff", "m~1", "m", "--weights", "--only", "weights",
           "--format", "json")
    read_both(big)  # warm the page cache for both
    first, _ = timed(repo, *cmd)  # hashes both files against their seals
    floor = min(read_both(big) for _ in range(3))
    ours, rss = min(timed(repo, *cmd) for _ in range(3))
    total = sum(p.stat().st_size for p in big)
    return {"work": f"diff --weights, 2 x {total // 2 >> 20} MiB (read both once: floor)",
            "ours_s": round(ours, 3), "baseline_s": round(floor, 3),
            "ratio": round(ours / floor, 2), "target": "<= 1.5x", "passed": ours <= 1.5 * floor,
            "peak_rss_mib": round(rss / 2**20, 1), "first_run_s": round(first, 3),
            "rss_ok": rss < (total // 2) // 4}


def run(quick: bool, size_mib: int | None = None, tensors: int = 1000,
        workdir: str | None = None) -> list[dict[str, Any]]:
    size = (size_mib if size_mib is not None else (64 if quick else 1024)) << 20
    base = Path(tempfile.mkdtemp(prefix="ckpt-bench-diff-", dir=workdir))
    try:
        return [metadata_row(base, tensors), weights_row(base, size)]
    finally:
        shutil.rmtree(base, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="64 MiB files instead of 1 GiB")
    parser.add_argument("--size-mib", type=int, help="size of each file for --weights")
    parser.add_argument("--tensors", type=int, default=1000, help="tensors for the metadata diff")
    parser.add_argument("--dir", help="where to put the temporary repositories")
    parser.add_argument("--measure", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    parser.add_argument("--make-models", nargs=2, metavar=("REPO", "BYTES"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.make_models:
        make_models(Path(args.make_models[0]), int(args.make_models[1]))
        return 0
    if args.measure:
        elapsed, rss = measure(args.measure)
        print(elapsed, rss)
        return 0
    rows = run(args.quick, args.size_mib, args.tensors, args.dir)
    for row in rows:
        extra = (f", peak RSS {row['peak_rss_mib']} MiB, first run (seals hashed) "
                 f"{row['first_run_s']} s") if "peak_rss_mib" in row else ""
        ratio = f" ({row['ratio']}x of {row['baseline_s']} s)" if row["ratio"] else ""
        print(f"{'PASS' if row['passed'] else 'FAIL'}  {row['work']}: {row['ours_s']} s"
              f"{ratio}, target {row['target']}{extra}")
    return 0 if all(r["passed"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
