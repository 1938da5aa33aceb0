"""Running programs other than git (hardware probes now; gates later).

Kept apart so that the ban on ``subprocess`` elsewhere holds: every process the product starts
goes through here or through ``git.py``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence


def which(program: str) -> str | None:
    return shutil.which(program)


def output_or_none(argv: Sequence[str], timeout: float = 5.0) -> str | None:
    """Stdout of a probe, or None when it is missing, fails or hangs: probes are best-effort."""
    if which(argv[0]) is None:
        return None
    try:
        done = subprocess.run(  # noqa: S603
            list(argv), capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def run(
    argv: Sequence[str],
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command and capture its output as text; the caller judges the exit code."""
    return subprocess.run(  # noqa: S603
        list(argv), cwd=cwd, env=dict(env) if env is not None else None,
        capture_output=True, text=True, timeout=timeout, check=False,
    )


def run_gate(
    argv: Sequence[str], cwd: str | os.PathLike[str], env: Mapping[str, str], timeout: float
) -> tuple[int | None, str]:
    """A gate command: its exit code (None when it could not start or timed out) and output."""
    try:
        done = subprocess.run(  # noqa: S603 - argv from the repository's own config, no shell
            list(argv), cwd=cwd, env=dict(env), capture_output=True, text=True,
            timeout=timeout, check=False, stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError:
        return None, f"{argv[0]}: command not found"
    except subprocess.TimeoutExpired:
        return None, f"timed out after {timeout:g} s"
    except OSError as exc:
        return None, f"{argv[0]}: {exc.strerror}"
    return done.returncode, (done.stdout + done.stderr)


def run_bytes(argv: Sequence[str], data: bytes, timeout: float = 60.0,
              ) -> subprocess.CompletedProcess[bytes]:
    """Run a command with ``data`` on stdin and capture bytes (``ssh-keygen -Y``)."""
    try:
        return subprocess.run(  # noqa: S603 - fixed argv, no shell
            list(argv), input=data, capture_output=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return subprocess.CompletedProcess(list(argv), 127, b"", str(exc).encode())
