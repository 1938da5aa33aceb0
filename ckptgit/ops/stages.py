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
    refused: list[tagevents.Event | tagevents.LockEvent]  # tags the verifier refused


def stages(repo: Repo, name: str | None = None, allow_unverified: bool = False) -> Stages:
    """Each stage's latest VALID assignment; refused tags are listed, never counted
    (``allow_unverified`` counts them, for forensics only)."""
    events, locks = tagevents.read(repo.git, name, allow_unverified)
    held = tagevents.holders(events)
    refused: list[tagevents.Event | tagevents.LockEvent] = [e for e in events if not e.verified]
    refused += [e for e in locks if not e.verified]
    return Stages(in_stage_order(held, repo.config.stages), tagevents.locked(locks),
                  tagevents.deprecated(events), refused)


def in_stage_order(held: dict[tuple[str, str], tagevents.Event],
                   configured: Sequence[str]) -> list[tagevents.Event]:
    order = tagevents.stage_order(configured)
    return [ev for _, ev in sorted(held.items(),
                                   key=lambda kv: (kv[0][0], order.get(kv[0][1], 99), kv[0][1]))]
