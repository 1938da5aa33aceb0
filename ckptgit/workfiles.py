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
