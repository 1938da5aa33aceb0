"""SIGKILL at every step that matters, and at random instants, for every command that writes.

Each command runs as a real ``git ckpt`` process in a fresh copy of a prepared repository
(prepared once per command, copied per trial) and is killed either by a fault point
(``CKPT_FAULT=point[:n]``, see ckptgit/faults.py) or by SIGKILL to its process group after a
random delay within its normal running time. After each kill:

- every checkpoint saved before verifies from the cache, and the interrupted one (if it
  landed) verifies too: whole or absent;
- the user's own staged and unstaged work is exactly as it was (``git status`` of their paths);
- a plain ``git commit`` cannot revert a save: either the index holds no record that differs
  from HEAD's, or the pre-commit hook refuses (and ``git ckpt fsck --repair`` makes the whole
  ``git status`` what it was);
- running the command again succeeds, and everything verifies.

Behind the ``slow`` marker (``make test-slow``); ``CKPT_KILL_TRIALS`` sets the trials per
command (default 50).
"""

from __future__ import annotations

import io
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import git, git_project, write_model
from governance_fixtures import govern, make_keys

pytestmark = pytest.mark.slow

TRIALS = int(os.environ.get("CKPT_KILL_TRIALS", "50"))
MODEL = "models/clf.safetensors"
RECORD_SUFFIXES = (".dvc", ".ckpt.yaml")
OURS = ("dvc.yaml", ".gitignore", "deploy/")  # files our commands also write


@dataclass
class Scenario:
    argv: list[str]
    points: list[str]
    before_trial: Callable[[Path], None] = lambda repo: None
    retry_ok: Callable[[int, str], bool] = lambda code, err: code == 0
    python: bool = False  # run through tests/kill_driver.py (schema v2 for migrate)


def in_process(repo: Path, *args: str) -> tuple[int, str, str]:
    from ckptgit.main import main

    out, err = io.StringIO(), io.StringIO()
    old = Path.cwd()
    os.chdir(repo)
    try:
        with redirect_stdout(out), redirect_stderr(err):
            code = main(list(args))
    finally:
        os.chdir(old)
    return code, out.getvalue(), err.getvalue()


# -- the prepared repository ------------------------------------------------------------------
def prepare(base: Path, command: str) -> Path:
    """A repository as a team has it mid-project: two saves of clf (promoted to dev), one
    of reg, a relative DVC remote holding every byte, and the user's own pending work."""
    base.mkdir(parents=True)
    keys = make_keys(base)
    path = git_project(base, "repo")
    code, _, err = in_process(path, "init", "--remote", "../store")
    assert code == 0, err
    from conftest import Repo

    repo = Repo(path, base / "store")
    govern(repo, keys)
    for seed in (0, 1):
        repo.model(seed=seed)
        repo.save(MODEL, "clf", "--push")
        repo.ckpt_ok("promote", "clf", "--stage", "dev", "--rationale", f"seed {seed}")
    repo.model("models/reg.safetensors", seed=5)
    repo.save("models/reg.safetensors", "reg", "--push")
    if command == "gc":  # garbage: bytes of saves killed before their commit, long ago
        from ckptgit import storage

        for seed in range(10, 14):
            junk = write_model(base / f"junk{seed}.safetensors", seed=seed)
            stored = storage.store(path, junk)
            old = time.time() - 7200
            os.utime(storage.object_path(path, stored.md5), (old, old))
    if command == "restore":  # a fresh machine's cache: bytes only on the remote
        from ckptgit import storage

        shutil.rmtree(storage.cache_root(path).parent.parent)
    (path / "README.md").write_text("# project\n\nstaged by the user\n")
    git(path, "add", "README.md")
    (path / "train.py").write_text("print('unstaged edit')\n")
    return base


def copy_trial(template: Path, dest: Path) -> Path:
    shutil.copytree(template, dest, symlinks=True)
    local = dest / "repo" / ".dvc" / "config.local"
    if local.exists():
        local.write_text(local.read_text().replace(str(template), str(dest)))
    return dest / "repo"


# -- what must hold after a kill --------------------------------------------------------------
def user_status(repo: Path) -> list[str]:
    lines = git(repo, "status", "--porcelain").splitlines()
    return sorted(ln for ln in lines
                  if not ln[3:].endswith(RECORD_SUFFIXES) and not ln[3:].startswith(OURS)
                  and not ln[3:].endswith(OURS))


def verify_problems(repo: Path) -> list[str]:
    """Findings other than 'the work tree holds other bytes' (normal mid-save or mid-restore)."""
    from ckptgit.ops.verify import verify
    from ckptgit.repo import Repo as CkptRepo

    report = verify(CkptRepo.open(repo), offline=False)
    problems = [f"{f.subject}: {f.message}" for s in report.checkpoints for f in s.findings
                if f.kind != "workspace"]
    problems += [f"{f.subject}: {f.message}" for f in report.extra]
    problems += [f"{s.subject}: unverifiable" for s in report.checkpoints
                 if not s.findings and not s.verified_from]
    return problems


def revert_guard(repo: Path) -> str | None:
    """None when a plain commit now could not revert a save; else what is wrong."""
    from ckptgit.git import Git
    from ckptgit.governance import stale as stale_records

    g = Git.discover(repo)
    stale = stale_records.reverts(g, stale_records.staged_changes(g))
    code, _, err = in_process(repo, "hook", "pre-commit")
    if stale and code == 0:
        return f"pre-commit accepted a commit that reverts {[r.path for r in stale]}"
    if stale and "git ckpt fsck --repair" not in err:
        return f"pre-commit refused without the fix: {err}"
    return None


def ids(repo: Path) -> set[str]:
    text = git(repo, "log", "--all", "--format=%(trailers:key=Ckpt-Id,valueonly)")
    return {ln.strip() for ln in text.splitlines() if ln.strip()}


# -- running and killing ------------------------------------------------------------------------
def command(s: Scenario) -> list[str]:
    if s.python:
        return [sys.executable, str(Path(__file__).with_name("kill_driver.py")), *s.argv]
    return ["git", "ckpt", *s.argv]


def run(repo: Path, s: Scenario, fault: str | None = None,
        kill_after: float | None = None) -> tuple[int, str]:
    env = {**os.environ}
    env.pop("CKPT_FAULT", None)
    if fault:
        env["CKPT_FAULT"] = fault
    proc = subprocess.Popen(command(s), cwd=repo, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    if kill_after is not None:
        try:
            proc.wait(timeout=kill_after)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
    _, err = proc.communicate(timeout=300)
    return proc.returncode, err


def trials(tmp_path: Path, name: str, s: Scenario) -> None:
    """Half the trials die at each fault point in turn, half at a random instant within the
    command's own running time (measured once, uninterrupted, on a copy)."""
    template = prepare(tmp_path / "template", name)
    timing = copy_trial(template, tmp_path / "timing")
    s.before_trial(timing)
    started = time.monotonic()
    code, err = run(timing, s)
    assert code == 0, err
    duration = time.monotonic() - started
    failures = []
    rng = random.Random(f"{name}-kill")  # noqa: S311 - test schedule, not security
    for i in range(TRIALS):
        how: dict = ({"fault": s.points[(i // 2) % len(s.points)]} if i % 2 == 0
                     else {"kill_after": rng.uniform(0.05, duration)})
        repo = copy_trial(template, tmp_path / f"t{i}")
        failures += [f"trial {i} {how}: {p}" for p in trial(repo, s, how)]
        shutil.rmtree(repo.parent)
    assert not failures, "\n".join(failures[:20])


def trial(repo: Path, s: Scenario, how: dict) -> list[str]:
    s.before_trial(repo)
    status, known = user_status(repo), ids(repo)
    full_status = git(repo, "status", "--porcelain")
    _, err = run(repo, s, **how)
    problems = []
    if "Traceback" in err:
        problems.append(f"traceback: {err[-300:]}")
    if user_status(repo) != status:
        problems.append(f"user's work changed: {user_status(repo)} != {status}")
    problems += verify_problems(repo)
    if not known <= ids(repo):
        problems.append("a saved checkpoint disappeared")
    if (guard := revert_guard(repo)) is not None:
        problems.append(guard)
    in_process(repo, "fsck", "--repair", "--offline")
    if s.argv[0] in ("save", "gc") and git(repo, "status", "--porcelain") != full_status:
        problems.append(f"after fsck --repair: status {git(repo, 'status', '--porcelain')!r}")
    again, err = run(repo, s)
    if not s.retry_ok(again, err):
        problems.append(f"retry exited {again}: {err.strip()[-300:]}")
    problems += [f"after retry: {p}" for p in verify_problems(repo)]
    return problems


# -- the commands -------------------------------------------------------------------------------
def new_model(repo: Path) -> None:
    write_model(repo / MODEL, seed=random.randrange(100, 10**6))  # noqa: S311


SAVE_POINTS = ["stored", "built", "committed", "indexed", "staged",
               "written:1", "written:2"]


def test_kill_save(tmp_path: Path) -> None:
    trials(tmp_path, "save", Scenario(["save", MODEL, "-n", "clf", "-q"], SAVE_POINTS,
                                      before_trial=new_model))


def _stage_action_retry(code: int, err: str) -> bool:
    return code == 0 or "already" in err


def test_kill_promote(tmp_path: Path) -> None:
    trials(tmp_path, "promote", Scenario(
        ["promote", "reg", "--stage", "dev", "--rationale", "kill test"],
        ["tagged", "manifest-built", "manifest-committed"], retry_ok=_stage_action_retry))


def test_kill_revert(tmp_path: Path) -> None:
    trials(tmp_path, "revert", Scenario(
        ["revert", "clf", "--stage", "dev", "--to", "clf~1", "--rationale", "kill test"],
        ["tagged", "manifest-built", "manifest-committed", "restore-staged",
         "restored"], retry_ok=_stage_action_retry))


def test_kill_gc(tmp_path: Path) -> None:
    trials(tmp_path, "gc", Scenario(["gc", "--grace", "1m", "-q"],
                                    ["collected:1", "collected:2", "collected:3"]))


def test_kill_restore(tmp_path: Path) -> None:
    trials(tmp_path, "restore", Scenario(
        ["restore", "clf~1"], ["fetched", "restore-staged", "restored"]))


def test_kill_migrate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from test_migrate import use_v2

    def at_v2(repo: Path) -> None:
        use_v2(monkeypatch)  # this process reads (verify, fsck) as the v2 release does

    trials(tmp_path, "migrate", Scenario(
        ["migrate"], ["migrate-built", "migrated", "migrate-written:1",
                      "migrate-written:2"], before_trial=at_v2, python=True))
