"""The bad-input catalogue's fixtures: one prepared repository per module, copied per case.

Building a repository (git, ``git ckpt init``, a save, a guarded server) takes seconds; copying
it takes milliseconds. The template is built at the path every case then uses (``work``) and
kept pristine beside it, so the absolute paths DVC and git record stay true in every copy.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import hermetic
import pytest
from conftest import Repo, make_repo, write_model

from bad_inputs.snapshot import Snapshot, take
from ckptgit import limits


@dataclass
class Work:
    """One case's copy of the module's prepared repository (and its server, when it has one)."""

    repo: Repo
    server: Path | None
    base: Path

    def snapshot(self) -> Snapshot:
        return take(self.repo, self.server)


def _env(home: Path) -> dict[str, str]:
    """The suite's one hermetic environment (tests/hermetic.py), rooted beside ``home``."""
    return hermetic.variables(home.parent)


def prepared(build: Callable[[Repo, Path], Path | None]) -> Callable[..., Iterator[Work]]:
    """A module fixture: ``build(repo, base)`` once on a fresh repository, then a pristine
    copy restored before each case. ``build`` returns the server's path, if it made one."""

    @pytest.fixture(scope="module")
    def template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path | None]]:
        base = tmp_path_factory.mktemp("bad-inputs")
        home = hermetic.make_home(base)
        with pytest.MonkeyPatch.context() as mp:
            for key in hermetic.dropped(os.environ):
                mp.delenv(key)
            for key, value in _env(home).items():
                mp.setenv(key, value)
            work = base / "work"
            work.mkdir()
            repo = make_repo(work)
            server = build(repo, work)
            shutil.copytree(work, base / "pristine", symlinks=True)
            yield base, server
        limits.activate(limits.DEFAULT)

    return template


@pytest.fixture
def work(template: tuple[Path, Path | None], monkeypatch: pytest.MonkeyPatch) -> Iterator[Work]:
    base, server = template
    shutil.rmtree(base / "work")
    shutil.copytree(base / "pristine", base / "work", symlinks=True)
    for key, value in _env(base / "home").items():
        monkeypatch.setenv(key, value)
    yield Work(Repo(base / "work" / "repo", base / "work" / "repo-dvc-remote"), server, base)
    limits.activate(limits.DEFAULT)


def one_checkpoint(repo: Repo, base: Path) -> None:
    """The common template: one saved checkpoint ``clf`` with a list-valued param."""
    write_model(repo.path / "models" / "clf.safetensors")
    params = repo.path / "params.yaml"
    params.write_text("xs: [" + ", ".join(str(i) for i in range(3000)) + "]\nlr: 0.01\n")
    repo.ckpt_ok("save", "models/clf.safetensors", "--name", "clf", "--params", "params.yaml",
                 "--metric", "acc=0.9")
    params.unlink()
    return None
