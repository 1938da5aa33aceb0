"""Who holds which stage: the ONE rule, over anything that reads like a GTO event tag.

``holders_from_refs`` applies it to one ``for-each-ref`` over the tag names (never one call per
tag); ``governance/tagevents.py`` applies it to events read with their trailers.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, TypeVar

from ckptgit import tags
from ckptgit.git import Git, RefEntry
from ckptgit.model import StageAssignment


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


def holders_from_refs(refs: Iterable[RefEntry]) -> dict[tuple[str, str], StageAssignment]:
    by_tag: dict[tags.TagName, tuple[str, str]] = {}
    for ref in refs:
        short = ref.name.removeprefix("refs/tags/")
        parsed = tags.parse(short)
        if parsed is not None:
            by_tag[parsed] = (short, ref.target)
    return {key: StageAssignment(p.name, key[1], by_tag[p][0], by_tag[p][1], p.number or 0)
            for key, p in newest(by_tag).items()}


def holders(git: Git, name: str | None = None) -> dict[tuple[str, str], StageAssignment]:
    pattern = f"refs/tags/{name}#*" if name else "refs/tags/"
    return holders_from_refs(git.for_each_ref(pattern))
