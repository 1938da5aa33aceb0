"""``git ckpt stages``: who holds each stage now, from the tags in one pass."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ckptgit.governance import tagevents
from ckptgit.repo import Repo


@dataclass(frozen=True)
class Stages:
    holders: list[tagevents.Event]  # by name, then configured stage order
    locked: dict[str, tagevents.LockEvent]  # stage -> the lock holding it
    deprecated: dict[str, tagevents.Event]  # name -> its deprecation


def stages(repo: Repo, name: str | None = None) -> Stages:
    events, locks = tagevents.read(repo.git, name)
    held = tagevents.holders(events)
    return Stages(in_stage_order(held, repo.config.stages), tagevents.locked(locks),
                  tagevents.deprecated(events))


def in_stage_order(held: dict[tuple[str, str], tagevents.Event],
                   configured: Sequence[str]) -> list[tagevents.Event]:
    order = tagevents.stage_order(configured)
    return [ev for _, ev in sorted(held.items(),
                                   key=lambda kv: (kv[0][0], order.get(kv[0][1], 99), kv[0][1]))]
