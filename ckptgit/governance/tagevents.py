"""Promotion history from the tags: every event, who holds each stage, and when.

Everything comes from ONE ``for-each-ref`` that also reads each tag's body, so the cost is a
single process whatever the number of tags; trailers are parsed in Python.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ckptgit import stages, tags
from ckptgit.git import Git, TagRecord
from ckptgit.governance import trailers as tr


@dataclass(frozen=True)
class Event:
    """One GTO event tag (assign, unassign, register, deprecate) and what its trailers say."""

    tag: str
    name: str
    kind: str
    stage: str | None
    number: int | None
    version: str | None
    commit: str
    created_at: int
    tagger: str
    annotated: bool
    trailers: tr.Trailers

    @property
    def action(self) -> str:
        declared = self.trailers.get(tr.ACTION)
        if declared:
            return declared
        return {"assign": "promote"}.get(self.kind, self.kind)

    def to_dict(self) -> dict[str, Any]:
        return {
            "tag": self.tag, "name": self.name, "action": self.action, "stage": self.stage,
            "number": self.number, "version": self.version, "commit": self.commit,
            "id": self.trailers.get(tr.ID), "created_at": iso(self.created_at),
            "signer": self.trailers.get(tr.SIGNED_BY) or self.tagger, "tagger": self.tagger,
            "rationale": self.trailers.get(tr.RATIONALE),
            "approved_by": self.trailers.all(tr.APPROVED_BY),
            "reverts": self.trailers.get(tr.REVERTS),
            "impact_window": self.trailers.get(tr.IMPACT_WINDOW),
            "sandbox_report": self.trailers.get(tr.SANDBOX_REPORT),
            "override": self.trailers.get(tr.OVERRIDE),
            "request": self.trailers.get(tr.REQUEST),
            "emergency": self.trailers.get(tr.EMERGENCY) == "true",
        }


@dataclass(frozen=True)
class LockEvent:
    tag: str
    kind: str  # lock | unlock
    stage: str
    number: int
    created_at: int
    tagger: str
    rationale: str | None


def iso(when: int) -> str:
    return datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def events_from(records: Iterable[TagRecord]) -> list[Event]:
    """Events in the order they happened: by counter per name, then by date."""
    out = []
    for rec in records:
        parsed = tags.parse(rec.name)
        if parsed is None:
            continue
        out.append(Event(rec.name, parsed.name, parsed.kind, parsed.stage, parsed.number,
                         parsed.version, rec.target, rec.created_at, rec.tagger,
                         rec.annotated, tr.parse(rec.body)))
    out.sort(key=lambda e: (e.created_at, e.name, e.number or 0))
    return out


def locks_from(records: Iterable[TagRecord]) -> list[LockEvent]:
    out = []
    for rec in records:
        parsed = tags.parse_lock(rec.name)
        if parsed is not None:
            out.append(LockEvent(rec.name, parsed.kind, parsed.stage, parsed.number,
                                 rec.created_at, rec.tagger,
                                 tr.parse(rec.body).get(tr.RATIONALE)))
    return sorted(out, key=lambda e: (e.stage, e.number))


def read(git: Git, name: str | None = None) -> tuple[list[Event], list[LockEvent]]:
    """All events (of ``name``, or of every artifact) and all lock events: one process."""
    patterns = [f"refs/tags/{name}#*", f"refs/tags/{name}@*"] if name else ["refs/tags/"]
    records = git.tag_records([*patterns, f"refs/tags/{tags.LOCK_PREFIX}"])
    return events_from(records), locks_from(records)


@dataclass(frozen=True)
class StageView:
    """What the tags say about one stage of one name: its events, holder and lock."""

    events: list[Event]
    holder: Event | None
    lock: LockEvent | None


def stage_view(git: Git, name: str, stage: str) -> StageView:
    events, locks = read(git, name)
    return StageView(events, holders(events).get((name, stage)), locked(locks).get(stage))


def read_locks(git: Git) -> list[LockEvent]:
    return locks_from(git.tag_records([f"refs/tags/{tags.LOCK_PREFIX}"]))


def holders(events: Sequence[Event], at: int | None = None) -> dict[tuple[str, str], Event]:
    """(name, stage) -> the assignment holding it (at time ``at``, else now), by the one rule
    in ``stages.newest``."""
    return stages.newest(e for e in events if at is None or e.created_at <= at)


def deprecated(events: Sequence[Event]) -> dict[str, Event]:
    """Name -> its deprecation, for names whose newest event (by counter) is one, as in GTO:
    a later promotion brings a name back."""
    latest: dict[str, Event] = {}
    for ev in events:
        if ev.number is not None and (ev.name not in latest
                                      or (latest[ev.name].number or 0) < ev.number):
            latest[ev.name] = ev
    return {n: e for n, e in latest.items() if e.kind == "deprecate"}


def locked(locks: Sequence[LockEvent], at: int | None = None) -> dict[str, LockEvent]:
    """Stage -> the lock event holding it locked (at time ``at``, else now)."""
    state: dict[str, LockEvent] = {}
    for ev in locks:
        if at is not None and ev.created_at > at:
            continue
        if ev.stage not in state or state[ev.stage].number < ev.number:
            state[ev.stage] = ev
    return {s: e for s, e in state.items() if e.kind == "lock"}


def ever_held(events: Sequence[Event], name: str, stage: str, commit: str) -> bool:
    return any(e.kind == "assign" and e.name == name and e.stage == stage and e.commit == commit
               for e in events)


def parse_time(git: Git, text: str) -> int:
    """A moment from ISO 8601, a unix time, or anything git's approxidate takes ("2 days ago")."""
    from ckptgit.errors import UsageError

    value = text.strip()
    if value.isdigit():
        return int(value)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return int(moment.timestamp())
    except ValueError:
        pass
    out = git.out(["rev-parse", f"--since={value}"]).strip()
    if not out.startswith("--max-age="):
        raise UsageError(f"--at {text!r} is not a time (try 2024-05-01T12:00Z or '2 days ago')")
    return int(out.removeprefix("--max-age="))


def stage_order(stages: Sequence[str]) -> dict[str, int]:
    return {s: i for i, s in enumerate(stages)}
