"""Ctrl-C: a real SIGINT to a real ``git-ckpt`` process in the middle of hashing a large file.

The whole process group gets the signal, as a terminal sends it. The save stops at its next
chunk, exits 130 with one line, and leaves nothing: no commit, no cache object, no temporary.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from conftest import BIN, Repo

from bad_inputs.snapshot import take


def _hashing(repo: Repo, proc: subprocess.Popen[str]) -> bool:
    from ckptgit import storage

    tmp = storage.cache_root(repo.path) / "tmp"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if tmp.is_dir() and any(p.name.startswith("ckpt-") for p in tmp.iterdir()):
            return True
        time.sleep(0.05)
    return False


def test_ctrl_c_during_a_long_hash(repo: Repo) -> None:
    big = repo.path / "models" / "big.bin"
    big.parent.mkdir(parents=True)
    with big.open("wb") as fh:
        fh.truncate(8 << 30)  # sparse: reading it costs hashing time, not disk
    before = take(repo)
    proc = subprocess.Popen([str(Path(BIN) / "git-ckpt"), "save", "models/big.bin", "-n", "big",
                             "-q"], cwd=repo.path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert _hashing(repo, proc), "the save never started hashing"
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, err
    assert err.strip() in ("error: interrupted", "error: aborted"), err
    assert take(repo) == before
