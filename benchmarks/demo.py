"""``make demo`` on a fresh clone, install included (issue 16: ≤ 60 s on a 2-core machine).

The committed tree is cloned into a sandbox with an empty HOME (no pip or uv cache, no
``PYTHONDONTWRITEBYTECODE``: a fresh machine) and ``make demo`` runs there in two timed
phases: the runtime install (``make .venv/.runtime``: the venv, uv, the runtime dependencies)
and the demo script itself. Wall and CPU time (user + system of every process, from the
kernel's accounting of waited-for children) are reported for both: on a shared machine the
CPU time is the figure that holds. The baseline is pip installing the same runtime
dependencies into a fresh venv (what the Makefile did before uv).

    python benchmarks/demo.py [--quick]
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import common


def run(quick: bool) -> list[dict[str, Any]]:
    with common.sandbox("demo") as box:
        env = _fresh_env(box.env)
        clone = box.base / "ckptgit"
        box.sh(["git", "clone", "-q", str(common.ROOT), str(clone)])
        install = _timed(["make", "--no-print-directory", ".venv/.runtime"], clone, env)
        demo = _timed(["make", "--no-print-directory", "demo"], clone, env)
        pip = _timed(["bash", "-c", "python3 -m venv pipvenv && pipvenv/bin/python -m pip "
                      "install --quiet --no-compile -e ./ckptgit"], box.base, env)
    wall = install[0] + demo[0]
    cpu = install[1] + demo[1]
    return [
        common.row("fresh clone: make demo (venv, runtime install, the whole demo)", wall,
                   None, max_seconds=60.0,
                   note=f"CPU {cpu:.1f} s (install {install[1]:.1f} s CPU / {install[0]:.1f} s "
                        f"wall, demo {demo[1]:.1f} s CPU / {demo[0]:.1f} s wall); load "
                        f"{os.getloadavg()[0]:.1f}", cpu_s=round(cpu, 2)),
        common.row("runtime install: uv (make .venv/.runtime) vs pip --no-compile", install[0],
                   pip[0], baseline_name="pip install --no-compile -e .",
                   note=f"CPU {install[1]:.1f} s vs {pip[1]:.1f} s"),
    ]


def _fresh_env(env: Mapping[str, str]) -> dict[str, str]:
    """The sandbox's environment as a fresh machine has it: no bytecode switch, and the
    system's python3 first on PATH (not the benchmark's venv)."""
    out = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    venv_bin = str(Path(sys.executable).parent)
    out["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if p != venv_bin)
    return out


def _timed(argv: list[str], cwd: Path, env: Mapping[str, str]) -> tuple[float, float]:
    """(wall, CPU) seconds of ``argv`` and every process it waited for."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=dict(env), capture_output=True, check=False,
                          timeout=1800)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).decode(errors="replace").strip()[-2000:]
        raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}: {tail}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


if __name__ == "__main__":
    common.main(run)
