"""``git ckpt rank``: the checkpoints of a repository through ``compare/ranking.py``."""

from __future__ import annotations

from collections.abc import Sequence

from ckptgit.compare import ranking
from ckptgit.repo import Repo


def rank(repo: Repo, by: Sequence[str], name: str | None = None, where: str | None = None,
         top: int | None = None) -> tuple[list[ranking.Criterion], list[ranking.Ranked]]:
    """The criteria parsed from ``by`` (``metric[:min|max]``) and the ranked checkpoints."""
    criteria = [ranking.criterion(spec, repo.config.metric_goals) for spec in by]
    entries = [c for c in repo.checkpoints() if name is None or c.name == name]
    return criteria, ranking.rank(entries, criteria, where, top)
