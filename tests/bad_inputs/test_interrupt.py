"""Ctrl-C: a real SIGINT to a real ``git-ckpt`` process in the middle of hashing a large file.

The whole process group gets the signal, as a terminal sends it. The save stops at its next
chunk, exits 130 with one line, and leaves nothing: no commit, no cache object, no temporary.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import BIN, Repo

from bad_inputs.snapshot import take


def _interrupt(repo: Repo, args: list[str], started: Callable[[], bool]) -> str:
    """Run ``git-ckpt ARGS``; once ``started()``, SIGINT its process group; its stderr."""
    env = {**os.environ, "PYTHONFAULTHANDLER": "1"}  # SIGABRT on a hang shows every stack
    proc = subprocess.Popen([str(Path(BIN) / "git-ckpt"), *args], cwd=repo.path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, env=env)
    try:
        deadline = time.monotonic() + 120
        while not started() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc.poll() is None, "the command ended before it could be interrupted"
        os.killpg(proc.pid, signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGABRT)
            pytest.fail(f"no exit 120 s after SIGINT:\n{proc.communicate(timeout=30)[1]}")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, err
    assert err.strip() in ("error: interrupted", "error: aborted"), err
    return err


@pytest.mark.slow
def test_ctrl_c_during_verify(repo: Repo) -> None:
    big = repo.path / "models" / "big.bin"
    big.parent.mkdir(parents=True)
    with big.open("wb") as fh:
        fh.truncate(4 << 30)
    repo.ckpt_ok("save", "models/big.bin", "-n", "big", "-q")
    before = take(repo)
    begun = time.monotonic()
    _interrupt(repo, ["verify", "-q"], lambda: time.monotonic() - begun > 3)
    assert take(repo) == before


def _hashing(repo: Repo, proc: subprocess.Popen[str]) -> bool:
    from ckptgit import storage

    tmp = storage.cache_root(repo.path) / "tmp"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if tmp.is_dir() and any(p.name.startswith("ckpt-") for p in tmp.iterdir()):
            return True
        time.sleep(0.05)
    return False


def test_ctrl_c_at_the_copy_leaves_nothing(repo: Repo) -> None:
    """SIGINT at a fixed step of the copy (``CKPT_FAULT_SIGNAL``), with the hash and copy workers
    running: exit 130, one line, nothing saved, no hang. Repeated, since the hang it guards
    against (a worker importing while the interrupt lands) was one run in ten."""
    big = repo.path / "models" / "big.bin"
    big.parent.mkdir(parents=True)
    with big.open("wb") as fh:
        fh.truncate(64 << 20)  # 16 chunks: the workers are busy when the interrupt lands
    before = take(repo)
    env = {**os.environ, "CKPT_FAULT": "copying:2", "CKPT_FAULT_SIGNAL": "INT",
           "PYTHONFAULTHANDLER": "1"}
    for _ in range(5):
        try:
            done = subprocess.run([str(Path(BIN) / "git-ckpt"), "save", "models/big.bin", "-n",
                                   "big", "-q"], cwd=repo.path, capture_output=True, text=True,
                                  env=env, timeout=120, check=False)
        except subprocess.TimeoutExpired as exc:
            pytest.fail(f"save hung after the interrupt:\n{exc.stderr!r}")
        assert done.returncode == 130, done.stderr
        assert done.stderr.strip() in ("error: interrupted", "error: aborted"), done.stderr
        assert take(repo) == before


_WATCH = """
import json, sys, threading
seen = []
class Watch:
    def find_spec(self, name, path=None, target=None):
        if threading.current_thread() is not threading.main_thread():
            seen.append(f"{threading.current_thread().name}: {name}")
        return None
sys.meta_path.insert(0, Watch())
from ckptgit.main import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "seen": seen}))
"""


def test_no_worker_thread_imports_during_a_save(repo: Repo) -> None:
    """What makes Ctrl-C safe: every module the copy's threads use is imported before they
    start, so none of them can wait on the import lock an interrupted main thread holds."""
    big = repo.path / "models" / "big.bin"
    big.parent.mkdir(parents=True)
    with big.open("wb") as fh:
        fh.truncate(64 << 20)
    done = subprocess.run([sys.executable, "-c", _WATCH, "save", "models/big.bin", "-n", "big",
                           "-q"], cwd=repo.path, capture_output=True, text=True, timeout=300,
                          check=True)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {"code": 0, "seen": []}, done.stderr


# slow: a real Ctrl-C at a moment of the clock (the deterministic case is above)
@pytest.mark.slow
def test_ctrl_c_during_a_long_hash(repo: Repo) -> None:
    from ckptgit import storage

    big = repo.path / "models" / "big.bin"
    big.parent.mkdir(parents=True)
    with big.open("wb") as fh:
        fh.truncate(8 << 30)  # sparse: reading it costs hashing time, not disk
    before = take(repo)
    tmp = storage.cache_root(repo.path) / "tmp"

    def hashing() -> bool:
        return tmp.is_dir() and any(p.name.startswith("ckpt-") for p in tmp.iterdir())

    _interrupt(repo, ["save", "models/big.bin", "-n", "big", "-q"], hashing)
    assert take(repo) == before
