"""Writing into a repository safely: the commit lock (files are replaced by ``atomic.py``).

Every command that commits for the user (save, migrate, manifest updates) takes the same lock,
so two of them never build on the same HEAD and lose one another's commit.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager

from ckptgit.git import Git


@contextmanager
def commit_lock(git: Git) -> Iterator[None]:
    """Serialize commit steps in one repository (blocks, briefly); released even on a crash."""
    lock_path = git.ckpt_dir / "save.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)



@contextmanager
def saving(git: Git) -> Iterator[None]:
    """Held (shared) for the whole of a save: any number of saves run side by side, and
    ``prune`` (which takes it exclusively) never removes bytes a save is about to commit."""
    with _flock(git, fcntl.LOCK_SH):
        yield


@contextmanager
def no_save_running(git: Git) -> Iterator[None]:
    """Exclusive use of the save lock, or a refusal naming the reason: a save is in progress."""
    from ckptgit.errors import PolicyError

    path = git.ckpt_dir / "saving.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise PolicyError("a save is in progress in this repository; prune again once it "
                              "has finished") from exc
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@contextmanager
def _flock(git: Git, mode: int) -> Iterator[None]:
    path = git.ckpt_dir / "saving.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fcntl.flock(fh, mode)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
