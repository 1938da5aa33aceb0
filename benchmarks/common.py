"""What every benchmark shares: a hermetic sandbox, interleaved timing, result rows.

A benchmark module exposes ``run(quick: bool) -> list[dict]``; each dict is one row of the
table ``run.py`` prints: ``work``, ``ours_s``, ``baseline_s``, ``ratio``, ``target``,
``passed`` (None when there is nothing to judge), and optionally ``baseline`` (what was
measured against), ``note``, and ``curve`` + ``n`` for points of a scale curve.

Timings are medians of rounds in which every contender runs once, in the same order
(A B C A B C …), so drift of a shared machine lands on all of them alike.
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.append(str(ROOT / "tests"))  # the hermetic environment the tests use

import hermetic  # noqa: E402

BIN = Path(sys.executable).parent
MiB = 1 << 20
GiB = 1 << 30


# -- the sandbox ------------------------------------------------------------------------------
@dataclass
class Sandbox:
    """A temporary directory with its own HOME, git and DVC configuration (like the tests)."""

    base: Path
    env: dict[str, str]

    def sh(
        self,
        argv: Sequence[str],
        cwd: Path | None = None,
        *,
        check: bool = True,
        input: bytes | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float | None = 600,
    ) -> subprocess.CompletedProcess[bytes]:
        done = subprocess.run(
            list(argv), cwd=cwd or self.base, input=input, capture_output=True,
            env={**self.env, **(env or {})}, timeout=timeout, check=False,
        )
        if check and done.returncode != 0:
            err = (done.stderr or done.stdout).decode(errors="replace").strip()
            raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}: {err[-2000:]}")
        return done

    def git(self, cwd: Path, *args: str) -> str:
        return self.sh(["git", *args], cwd).stdout.decode()

    def git_repo(self, name: str) -> Path:
        """A git repository with one ordinary commit, as a project has before ckptgit."""
        path = self.base / name
        path.mkdir(parents=True)
        self.git(path, "init", "-q", "-b", "main")
        (path / "README.md").write_text("# project\n")
        (path / "train.py").write_text("print('training')\n")
        self.git(path, "add", "README.md", "train.py")
        self.git(path, "commit", "-q", "-m", "initial")
        return path

    def ckpt_repo(self, name: str, remote: str | None = None) -> Path:
        """A repository after ``git ckpt init`` (DVC set up, default remote beside it)."""
        path = self.git_repo(name)
        self.sh(["git", "ckpt", "init", *(["--remote", remote] if remote else [])], path)
        return path

    def dvc_repo(self, name: str, cache_type: str | None = None) -> Path:
        """A repository set up by hand with ``dvc init`` (DVC's defaults unless told)."""
        path = self.git_repo(name)
        self.sh(["dvc", "init", "-q"], path)
        if cache_type:
            self.sh(["dvc", "config", "cache.type", cache_type], path)
        self.sh(["dvc", "config", "--local", "core.site_cache_dir",
                 str(self.base / "dvc-site" / name)], path)
        self.git(path, "add", ".dvc", ".dvcignore")
        self.git(path, "commit", "-q", "-m", "dvc init")
        return path


def hermetic_env(base: Path) -> dict[str, str]:
    return hermetic.environment(base)


@contextmanager
def sandbox(label: str) -> Iterator[Sandbox]:
    """A fresh sandbox under ``$CKPT_BENCH_TMP`` (default: the system temp dir), removed after."""
    parent = os.environ.get("CKPT_BENCH_TMP") or None
    base = Path(tempfile.mkdtemp(prefix=f"ckpt-bench-{label}-", dir=parent))
    try:
        hermetic.make_home(base)
        yield Sandbox(base, hermetic_env(base))
    finally:
        shutil.rmtree(base, ignore_errors=True)


# -- data -------------------------------------------------------------------------------------
def write_random(path: Path, size: int) -> Path:
    """``size`` bytes no two blocks alike; faster to make than ``/dev/urandom`` of that size."""
    path.parent.mkdir(parents=True, exist_ok=True)
    block = bytearray(os.urandom(16 * MiB))
    with open(path, "wb") as fh:
        written, n = 0, 0
        while written < size:
            block[:8] = n.to_bytes(8, "little")
            part = memoryview(block)[: min(len(block), size - written)]
            fh.write(part)
            written += len(part)
            n += 1
    return path


def perturb(path: Path, seed: int) -> None:
    """New content, same size: rewrite a few bytes at the start, middle and end, in place."""
    size = path.stat().st_size
    stamp = seed.to_bytes(8, "little") + os.urandom(8)
    with open(path, "r+b") as fh:
        for offset in (0, size // 2, max(0, size - len(stamp))):
            fh.seek(offset)
            fh.write(stamp)


def settle() -> None:
    """Write back dirty pages left by the previous run so none of it lands on the next one."""
    os.sync()


# -- timing -----------------------------------------------------------------------------------
def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def cpu_seconds() -> float:
    """User + system CPU of this process and of its waited-for children, so far."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(
        resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def interleave(
    cases: Mapping[str, Callable[[], object]],
    rounds: int,
    before: Callable[[str, int], object] | None = None,
    cpu: dict[str, list[float]] | None = None,
) -> dict[str, list[float]]:
    """Time each case once per round, in order; ``before(case, round)`` runs untimed first.

    With ``cpu``, each run's CPU seconds (this process and its children) are appended under
    the case's name: on a shared machine they hold still where wall-clock does not.
    """
    times: dict[str, list[float]] = {name: [] for name in cases}
    for i in range(rounds):
        for name, fn in cases.items():
            if before is not None:
                before(name, i)
            start = cpu_seconds()
            times[name].append(timed(fn))
            if cpu is not None:
                cpu.setdefault(name, []).append(cpu_seconds() - start)
    return times


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


# -- rows -------------------------------------------------------------------------------------
def row(
    work: str,
    ours: float | None,
    baseline: float | None,
    *,
    baseline_name: str = "",
    max_ratio: float | None = None,
    max_seconds: float | None = None,
    note: str = "",
    **extra: Any,
) -> dict[str, Any]:
    """One table row; the target is a ratio to the baseline or an absolute time (or none)."""
    ratio = ours / baseline if ours is not None and baseline else None
    target, passed = "", None
    if max_ratio is not None:
        target = f"≤ {max_ratio:g}×"
        passed = ratio is not None and ratio <= max_ratio
    elif max_seconds is not None:
        target = f"≤ {max_seconds * 1000:g} ms" if max_seconds < 1 else f"≤ {max_seconds:g} s"
        passed = ours is not None and ours <= max_seconds
    return {"work": work, "ours_s": ours, "baseline_s": baseline, "baseline": baseline_name,
            "ratio": ratio, "target": target, "passed": passed if ours is not None else None,
            "note": note, **extra}


def na(work: str, reason: str, target: str = "") -> dict[str, Any]:
    """A row that could not be measured (a command not built yet, a tool missing)."""
    return {"work": work, "ours_s": None, "baseline_s": None, "baseline": "", "ratio": None,
            "target": target, "passed": None, "note": f"n/a: {reason}"}


def has_command(repo_hint: str) -> bool:
    """Whether ``git ckpt`` knows subcommand ``repo_hint`` (benchmarks of later commands)."""
    from ckptgit.main import COMMANDS

    return repo_hint in COMMANDS


def fmt_seconds(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def format_table(rows: Sequence[Mapping[str, Any]]) -> str:
    head = ["work", "ours", "baseline", "ratio", "target", "result"]
    body = []
    for r in rows:
        verdict = {True: "pass", False: "FAIL", None: "-"}[r.get("passed")]
        if r.get("note", "").startswith("n/a"):
            verdict = "n/a"
        base = fmt_seconds(r.get("baseline_s"))
        if r.get("baseline") and r.get("baseline_s") is not None:
            base += f" ({r['baseline']})"
        ratio = r.get("ratio")
        body.append([r["work"], fmt_seconds(r.get("ours_s")), base,
                     "" if ratio is None else f"{ratio:.2f}×", r.get("target", ""), verdict])
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body, strict=False)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(b, widths, strict=True)) for b in body]
    notes = [f"  {r['work']}: {r['note']}" for r in rows if r.get("note")]
    return "\n".join(lines + (["", "notes:", *notes] if notes else []))


def format_curves(rows: Sequence[Mapping[str, Any]]) -> str:
    """The scale-curve points as one small table: a line per curve (and its baseline), a
    column per size, and the growth from the smallest size to the largest."""
    sizes = sorted({int(r["n"]) for r in rows if r.get("curve")})
    curves: dict[str, dict[int, float | None]] = {}
    for r in rows:
        if not r.get("curve"):
            continue
        curves.setdefault(r["curve"], {})[int(r["n"])] = r.get("ours_s")
        if r.get("baseline"):
            curves.setdefault(f"  {r['baseline']}", {})[int(r["n"])] = r.get("baseline_s")
    if not curves:
        return ""
    grows = len(sizes) > 1
    head = ["scale curve", *(f"{n:,}" for n in sizes)]
    head += [f"{sizes[-1]:,} / {sizes[0]:,}"] if grows else []
    body = []
    for name, points in curves.items():
        first, last = points.get(sizes[0]), points.get(sizes[-1])
        growth = [f"{last / first:.1f}×" if first and last else ""] if grows else []
        body.append([name, *(fmt_seconds(points.get(n)) for n in sizes), *growth])
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body, strict=False)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(b, widths, strict=True)) for b in body]
    return "\n".join(line.rstrip() for line in lines)


def main(run: Callable[[bool], list[dict[str, Any]]]) -> None:
    """Let one benchmark module run alone: ``python benchmarks/save.py [--quick]``."""
    rows = run("--quick" in sys.argv[1:])
    print(format_table(rows))
    curves = format_curves(rows)
    if curves:
        print("\n" + curves)
