"""The code a checkpoint came from: commit, branch, and whether the tree was dirty."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ckptgit.git import Git


def capture(git: Git, exclude: Iterable[str] = ()) -> dict[str, Any]:
    """Dirty means tracked files differ from HEAD (staged or not) or files git does not ignore
    are untracked (a new ``train.py`` is code the run used); the digest pins both."""
    head = git.head()  # read once: the diff is taken against the commit recorded
    dirty, digest, untracked = git.dirty_state(exclude, head)
    state: dict[str, Any] = {"commit": head, "branch": git.branch(), "dirty": dirty}
    if digest:
        state["diff_sha256"] = digest
    if untracked:
        state["untracked"] = untracked
    return state
