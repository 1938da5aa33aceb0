"""Who holds which stage, from one ``for-each-ref`` over the tags (never one call per tag)."""

from __future__ import annotations

from collections.abc import Iterable

from ckptgit import tags
from ckptgit.git import Git, RefEntry
from ckptgit.model import StageAssignment


def holders_from_refs(refs: Iterable[RefEntry]) -> dict[tuple[str, str], StageAssignment]:
    """The newest assignment per (name, stage); an unassignment with a higher N clears it."""
    latest: dict[tuple[str, str], tuple[int, StageAssignment | None]] = {}
    for ref in refs:
        short = ref.name.removeprefix("refs/tags/")
        parsed = tags.parse(short)
        if parsed is None or parsed.stage is None or parsed.number is None:
            continue
        key = (parsed.name, parsed.stage)
        if key in latest and latest[key][0] >= parsed.number:
            continue
        held = (StageAssignment(parsed.name, parsed.stage, short, ref.target, parsed.number)
                if parsed.kind == "assign" else None)
        latest[key] = (parsed.number, held)
    return {k: v for k, (_, v) in latest.items() if v is not None}


def holders(git: Git, name: str | None = None) -> dict[tuple[str, str], StageAssignment]:
    """The latest VALID assignment per (name, stage), as the verifier judges the tags."""
    from ckptgit.governance import history

    events, _ = history.read(git, name)
    return {key: StageAssignment(ev.name, ev.stage or "", ev.tag, ev.commit, ev.number or 0)
            for key, ev in history.holders(events).items()}
