"""``git ckpt list``: checkpoints newest first, with the stages each holds."""

from __future__ import annotations

from ckptgit.model import Checkpoint
from ckptgit.ops.show import stage_map
from ckptgit.repo import Repo

__all__ = ["listing", "stage_map"]


def listing(repo: Repo, name: str | None = None, limit: int | None = None) -> list[Checkpoint]:
    """Newest first by creation time; history order breaks ties."""
    entries = [c for c in repo.checkpoints() if name is None or c.name == name]
    entries.sort(key=lambda c: c.created_at, reverse=True)
    return entries[:limit] if limit is not None else entries
