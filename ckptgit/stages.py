"""Who holds which stage: the ONE rule, over decisions that count.

``governance/tagevents.py`` applies it to the events the verifier accepted; there is no
reading of stage holders from tag names alone (an unsigned tag would count).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, TypeVar


class Decision(Protocol):
    """What the rule reads of a tag: whose stage, which counter, assign or not."""

    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def stage(self) -> str | None: ...
    @property
    def number(self) -> int | None: ...


D = TypeVar("D", bound=Decision)


def newest(decisions: Iterable[D]) -> dict[tuple[str, str], D]:
    """(name, stage) -> the assignment holding it.

    The highest counter wins, as in GTO (the first seen among equal counters); an
    unassignment with a higher counter clears the stage.
    """
    latest: dict[tuple[str, str], D] = {}
    for d in decisions:
        if d.stage is None or d.number is None:
            continue
        key = (d.name, d.stage)
        if key not in latest or (latest[key].number or 0) < d.number:
            latest[key] = d
    return {k: v for k, v in latest.items() if v.kind == "assign"}
