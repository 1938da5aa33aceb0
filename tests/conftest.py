"""Shared fixtures: a hermetic environment, real git repos with real DVC, model files.

Nothing is mocked: every test gets its own HOME, git and DVC configuration, a real repository
set up by ``git ckpt init`` and a real local DVC remote beside it. Tests that need S3 share one
real server (SeaweedFS on 127.0.0.1) started for the session.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hermetic as hermetic_env
import numpy as np
import pytest
from s3server import S3Server, S3ServerError, seaweed
from safetensors.numpy import save_file

BIN = hermetic_env.BIN


@pytest.fixture(autouse=True)
def hermetic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Own HOME and config dirs, fixed identity, no system git config, no DVC analytics."""
    for key in hermetic_env.dropped(os.environ):
        monkeypatch.delenv(key)
    for key, value in hermetic_env.variables(tmp_path).items():
        monkeypatch.setenv(key, value)
    hermetic_env.make_home(tmp_path)


def git(cwd: Path, *args: str, check: bool = True) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {done.stderr}")
    return done.stdout


def write_model(path: Path, seed: int = 0, tensors: Mapping[str, Any] | None = None,
                metadata: dict[str, str] | None = None) -> Path:
    """A small real safetensors file; ``tensors`` overrides the default two-layer model."""
    rng = np.random.default_rng(seed)
    data = dict(tensors) if tensors is not None else {
        "encoder.weight": rng.standard_normal((16, 8)).astype(np.float32),
        "encoder.bias": rng.standard_normal(16).astype(np.float32),
        "head.weight": rng.standard_normal((4, 16)).astype(np.float32),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(data, str(path), metadata=metadata or {"format": "pt"})
    return path


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@dataclass
class Repo:
    path: Path
    remote: Path

    def git(self, *args: str, check: bool = True) -> str:
        return git(self.path, *args, check=check)

    def ckpt(self, *args: str, cwd: Path | None = None) -> Result:
        """``git ckpt ARGS`` in-process, through the same boundary as the real command."""
        from ckptgit.main import main

        out, err = io.StringIO(), io.StringIO()
        old = Path.cwd()
        os.chdir(cwd or self.path)
        try:
            with redirect_stdout(out), redirect_stderr(err):
                code = main(list(args))
        finally:
            os.chdir(old)
        return Result(code, out.getvalue(), err.getvalue())

    def ckpt_ok(self, *args: str, cwd: Path | None = None) -> Result:
        res = self.ckpt(*args, cwd=cwd)
        assert res.code == 0, f"git ckpt {' '.join(args)} exited {res.code}: {res.err}"
        return res

    def run_git_ckpt(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        """The real ``git ckpt`` executable, found by git on PATH, as users run it."""
        return subprocess.run(["git", "ckpt", *args], cwd=cwd or self.path,
                              capture_output=True, text=True, check=False)

    def model(self, rel: str = "models/clf.safetensors", seed: int = 0, **kw: Any) -> Path:
        return write_model(self.path / rel, seed=seed, **kw)

    def save(self, rel: str = "models/clf.safetensors", name: str = "clf", *extra: str) -> Any:
        return self.ckpt_ok("save", rel, "--name", name, "--json", *extra).json()


def git_project(base: Path, name: str = "repo") -> Path:
    """A git repository with one ordinary commit, as a project has before ``git ckpt init``."""
    path = base / name
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    (path / "README.md").write_text("# project\n")
    (path / "train.py").write_text("print('training')\n")
    git(path, "add", "README.md", "train.py")
    git(path, "commit", "-q", "-m", "initial")
    return path


def make_repo(base: Path, name: str = "repo") -> Repo:
    from ckptgit.ops.init import init

    path = git_project(base, name)
    remote = base / f"{name}-dvc-remote"
    init(str(path), remote=str(remote))
    return Repo(path, remote)


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Repo]:
    yield make_repo(tmp_path)


@pytest.fixture
def keys(tmp_path: Path) -> Any:
    """SSH signing keys made by ssh-keygen for this test (see governance_fixtures)."""
    from governance_fixtures import make_keys

    return make_keys(tmp_path)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """One real S3 server with one bucket for the whole session, stopped at its end.

    Its start is bounded (``S3ServerError`` fails the test that asked, with the server's log);
    its whole life is capped by ``timeout`` in case this process is killed.
    """
    with ExitStack() as stack:
        try:
            server = stack.enter_context(seaweed(tmp_path_factory.mktemp("s3server"),
                                                 "ckpt-test", limit_s=3600, wait_s=60))
        except S3ServerError as exc:
            pytest.fail(f"no S3 server for this test: {exc}", pytrace=False)
        yield server
