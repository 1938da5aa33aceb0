"""``git ckpt history``: every decision tag (of a name, of a stage), or what each stage held
at a moment."""

from __future__ import annotations

from dataclasses import dataclass

from ckptgit.governance import tagevents
from ckptgit.ops.stages import in_stage_order
from ckptgit.repo import Repo


@dataclass(frozen=True)
class History:
    events: list[tagevents.Event]  # in the order they happened, up to ``at``
    at: int | None = None  # the moment asked for, unix seconds
    holders: list[tagevents.Event] | None = None  # what each stage held at ``at``


def history(repo: Repo, name: str | None = None, stage: str | None = None,
            at: str | None = None) -> History:
    """``at`` is ISO 8601, a unix time, or anything git's approxidate takes."""
    events, _ = tagevents.read(repo.git, name)
    when = tagevents.parse_time(repo.git, at) if at else None
    shown = [e for e in events if (stage is None or e.stage == stage)
             and (when is None or e.created_at <= when)]
    if when is None:
        return History(shown)
    held = tagevents.holders(shown, at=when)
    return History(shown, when, in_stage_order(held, repo.config.stages))
