"""A repository as ckptgit sees it: git, its root, the config, the checkpoint index."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from ckptgit import config, index, limits, refs
from ckptgit.errors import UsageError
from ckptgit.git import Git
from ckptgit.model import Checkpoint
from ckptgit.saves import Saves


@dataclass
class Repo:
    git: Git

    @classmethod
    def open(cls, path: str | os.PathLike[str] = ".", *, initialized: bool = True) -> Repo:
        repo = cls(Git.discover(path))
        # not storage.is_initialized: the DVC adapter and its hashing stay unimported in
        # readers that never touch bytes (stages, history: ~7 ms of a 0.2 s budget)
        if initialized and not (repo.root / ".dvc").is_dir():
            raise UsageError(f"{repo.root} is not set up for checkpoints: run 'git ckpt init'")
        # every reader below applies the repository's limits to what it reads (limits.py)
        limits.activate(repo.config.limits)
        return repo

    @property
    def root(self) -> Path:
        return self.git.root

    @cached_property
    def config(self) -> config.Config:
        return config.load(self.root, self.git.ckpt_dir)

    def checkpoints(self) -> list[Checkpoint]:
        """Every genuine save reachable from HEAD, newest first in history order."""
        return index.load(self.git)

    def saves(self) -> Saves:
        """The same saves as index columns, a ``Checkpoint`` built only for each row read:
        for readers that print or resolve a few of 100,000."""
        return index.saves(self.git)

    def resolve(self, ref: str) -> Checkpoint:
        return refs.resolve(self.git, ref, self.saves())
