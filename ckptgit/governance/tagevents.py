"""Promotion history from the tags: every event, who holds each stage, and when.

Everything comes from ONE ``for-each-ref`` of ref names and object ids, with each tag's
fields (target, date, body) kept per tag object (``tagrecords``; tags not seen before are
read by one more ``for-each-ref``), so the cost is two processes at most whatever the number
of tags; trailers are parsed in Python. Every tag is
judged by the verifier: an event that fails is kept (shown as unverified) but never counted,
so a stage's holder is its latest VALID assignment (``allow_unverified`` counts them anyway,
for forensics only).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from ckptgit import stages, tags
from ckptgit.git import Git, TagRecord
from ckptgit.governance import tagname, tagrecords, verifier
from ckptgit.governance import trailers as tr
from ckptgit.model import StageAssignment


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
    body: str  # the message after its subject; trailers are parsed from it when first read
    problems: tuple[str, ...] = ()  # why the verifier refused it (empty: genuine)
    principal: str | None = None  # who signed, per the trusted allowed_signers
    counted: bool = True  # genuine, or counted anyway (--allow-unverified)

    @property
    def verified(self) -> bool:
        return not self.problems

    @cached_property
    def trailers(self) -> tr.Trailers:
        """Parsed on first use: ``stages`` shows a few holders out of thousands of tags."""
        return tr.parse(self.body)

    @property
    def action(self) -> str:
        declared = self.trailers.get(tr.ACTION)
        if declared:
            return declared
        return {"assign": "promote"}.get(self.kind, self.kind)

    def to_dict(self) -> dict[str, Any]:
        by = self.trailers.by_key()  # lowercased keys: `history` asks 10,000 events each

        def last(key: str) -> str | None:
            values = by.get(key)
            return values[-1] if values else None

        return {
            "tag": self.tag, "name": self.name, "action": self.action, "stage": self.stage,
            "number": self.number, "version": self.version, "commit": self.commit,
            "id": last(_ID), "created_at": iso(self.created_at),
            "signer": self.principal if self.verified else None, "tagger": self.tagger,
            "verified": self.verified, "problems": list(self.problems),
            "rationale": last(_RATIONALE), "approved_by": list(by.get(_APPROVED_BY, ())),
            "reverts": last(_REVERTS), "impact_window": last(_IMPACT_WINDOW),
            "sandbox_report": last(_SANDBOX_REPORT), "override": last(_OVERRIDE),
            "request": last(_REQUEST), "emergency": last(_EMERGENCY) == "true",
        }


_ID, _RATIONALE, _APPROVED_BY, _REVERTS, _IMPACT_WINDOW, _SANDBOX_REPORT, _OVERRIDE, _REQUEST, \
    _EMERGENCY = (k.lower() for k in (tr.ID, tr.RATIONALE, tr.APPROVED_BY, tr.REVERTS,
                                      tr.IMPACT_WINDOW, tr.SANDBOX_REPORT, tr.OVERRIDE,
                                      tr.REQUEST, tr.EMERGENCY))


@dataclass(frozen=True)
class LockEvent:
    tag: str
    kind: str  # lock | unlock
    stage: str
    number: int
    created_at: int
    tagger: str
    rationale: str | None
    problems: tuple[str, ...] = ()
    principal: str | None = None
    counted: bool = True

    @property
    def verified(self) -> bool:
        return not self.problems


def may_be_emergency(events: Iterable[Event]) -> bool:
    """Whether any event may be an emergency revert: a body without the word cannot hold the
    trailer, so ``stages`` and ``history`` load the ratification rules only when one does."""
    key = tr.EMERGENCY.lower()
    return any(key in ev.body.lower() and ev.trailers.get(tr.EMERGENCY) for ev in events)


def iso(when: int) -> str:
    if 0 <= when <= _LAST_MOMENT:  # C's strftime, half datetime's cost (10,000 events each);
        return time.strftime(_ISO, time.gmtime(when))  # years 1970-9999 print the same
    try:
        return datetime.fromtimestamp(when, UTC).strftime(_ISO)
    except (ValueError, OverflowError, OSError):  # a hand-made tagger date past year 9999:
        return f"@{when}"  # git lists it as it is; shown as unix seconds, never a crash


_ISO = "%Y-%m-%dT%H:%M:%SZ"


Verdicts = Mapping[str, "verifier.Verdict"]


def events_from(records: Iterable[TagRecord], verdicts: Verdicts,
                allow_unverified: bool = False) -> list[Event]:
    """Events in the order they happened: by counter per name, then by date. A governed name
    in a form we do not accept is listed too (kind ``unknown``), unverified."""
    out = []
    for rec in records:
        verdict = verdicts.get(rec.name)
        if verdict is None or tags.parse_lock(rec.name) is not None:
            continue
        parsed = tags.parse(rec.name)
        if parsed is None:
            parsed = tags.TagName(tagname.artifact_of(rec.name), "unknown")
        out.append(Event(rec.name, parsed.name, parsed.kind, parsed.stage, parsed.number,
                         parsed.version, rec.target, rec.created_at, rec.tagger,
                         rec.annotated, rec.body, verdict.problems,
                         verdict.principal, verdict.ok or allow_unverified))
    out.sort(key=lambda e: (e.created_at, e.name, e.number or 0))
    return out


def locks_from(records: Iterable[TagRecord], verdicts: Verdicts,
               allow_unverified: bool = False) -> list[LockEvent]:
    out = []
    for rec in records:
        parsed = tags.parse_lock(rec.name)
        verdict = verdicts.get(rec.name)
        if parsed is not None and verdict is not None:
            out.append(LockEvent(rec.name, parsed.kind, parsed.stage, parsed.number,
                                 rec.created_at, rec.tagger,
                                 tr.parse(rec.body).get(tr.RATIONALE), verdict.problems,
                                 verdict.principal, verdict.ok or allow_unverified))
    return sorted(out, key=lambda e: (e.stage, e.number))


def read(git: Git, name: str | None = None, allow_unverified: bool = False,
         ) -> tuple[list[Event], list[LockEvent]]:
    """All events (of ``name``, or of every artifact) and all lock events, each judged by the
    verifier: one ``for-each-ref``, one ``cat-file`` for tags not judged before."""
    records = governed_records(git, name)
    verdicts = verifier.judge(git, [(r.name, r.object) for r in records])
    return (events_from(records, verdicts, allow_unverified),
            locks_from(records, verdicts, allow_unverified))


def governed_records(git: Git, name: str | None = None) -> list[TagRecord]:
    """Tags our hooks govern (of ``name``, in any letter case), lock tags included."""
    patterns = ([f"refs/tags/{name}#*", f"refs/tags/{name}@*", f"refs/tags/{name}!*"]
                if name else ["refs/tags/"])
    records = tagrecords.records(git, [*patterns, f"refs/tags/{tags.LOCK_PREFIX}"],
                                 ignore_case=True)
    if name is not None:
        want = name.casefold()
        return [r for r in records if tagname.governed(r.name, {want})
                and (tagname.artifact_of(r.name).casefold() == want
                     or tags.parse_lock(r.name) is not None)]
    kept, odd = [], []
    for r in records:
        if tagname.governed(r.name):
            kept.append(r)
        elif any(c in r.name for c in "#@!"):
            odd.append(r)
    if odd:  # a separator in a name GTO's grammar does not match: odd forms of known names?
        from ckptgit import index

        names = {n.casefold() for n in index.saves(git).column("name")}  # no rows built
        kept += [r for r in odd if tagname.governed(r.name, names)]
    return kept


@dataclass(frozen=True)
class StageView:
    """What the tags say about one stage of one name: its events, holder and lock."""

    events: list[Event]
    holder: Event | None
    lock: LockEvent | None


def stage_view(git: Git, name: str, stage: str) -> StageView:
    events, locks = read(git, name)
    return StageView(events, holders(events).get((name, stage)), locked(locks).get(stage))


def stage_holders(git: Git, name: str | None = None,
                  ) -> dict[tuple[str, str], StageAssignment]:
    """The latest VALID assignment per (name, stage): what ``NAME#STAGE`` resolves to
    (registered with ``refs`` by ``ckptgit.governance``), ``show`` and ``check`` read."""
    events, _ = read(git, name)
    return {key: StageAssignment(ev.name, ev.stage or "", ev.tag, ev.commit, ev.number or 0)
            for key, ev in holders(events).items()}


def read_locks(git: Git) -> list[LockEvent]:
    records = tagrecords.records(git, [f"refs/tags/{tags.LOCK_PREFIX}"], ignore_case=True)
    return locks_from(records, verifier.judge(git, [(r.name, r.object) for r in records]))


def holders(events: Sequence[Event], at: int | None = None) -> dict[tuple[str, str], Event]:
    """(name, stage) -> the assignment holding it (at time ``at``, else now), by the one rule
    in ``stages.newest``, over the events that count (verified, or --allow-unverified)."""
    return stages.newest(e for e in events if e.counted and (at is None or e.created_at <= at))


def deprecated(events: Sequence[Event]) -> dict[str, Event]:
    """Name -> its deprecation, for names whose newest event (by counter) is one, as in GTO:
    a later promotion brings a name back."""
    latest: dict[str, Event] = {}
    for ev in events:
        if ev.counted and ev.number is not None and (ev.name not in latest
                                      or (latest[ev.name].number or 0) < ev.number):
            latest[ev.name] = ev
    return {n: e for n, e in latest.items() if e.kind == "deprecate"}


def locked(locks: Sequence[LockEvent], at: int | None = None) -> dict[str, LockEvent]:
    """Stage -> the lock event holding it locked (at time ``at``, else now)."""
    state: dict[str, LockEvent] = {}
    for ev in locks:
        if not ev.counted or (at is not None and ev.created_at > at):
            continue
        if ev.stage not in state or state[ev.stage].number < ev.number:
            state[ev.stage] = ev
    return {s: e for s, e in state.items() if e.kind == "lock"}


def ever_held(events: Sequence[Event], name: str, stage: str, commit: str) -> bool:
    return any(e.counted and e.kind == "assign" and e.name == name and e.stage == stage
               and e.commit == commit for e in events)


def parse_time(git: Git, text: str) -> int:
    """A moment from ISO 8601, a unix time, or anything git's approxidate takes ("2 days ago")."""
    from ckptgit.errors import UsageError

    value = text.strip()
    moment: int | None = None
    if value.isdigit():
        moment = int(value)
    else:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            moment = int(parsed.timestamp())
        except (ValueError, OverflowError):
            pass
    if moment is None and "\n" not in value and "\0" not in value:
        out = git.out(["rev-parse", f"--since={value}"]).strip()
        if out.startswith("--max-age="):
            moment = int(out.removeprefix("--max-age="))
    if moment is None:
        raise UsageError(f"--at {text!r} is not a time (try 2024-05-01T12:00Z or '2 days ago')")
    if not 0 <= moment <= _LAST_MOMENT:
        raise UsageError(f"--at {text[:40]!r} is out of range (1970 to 9999)")
    return moment


_LAST_MOMENT = 253402300799  # 9999-12-31T23:59:59Z: what a datetime can show


def stage_order(stages: Sequence[str]) -> dict[str, int]:
    return {s: i for i, s in enumerate(stages)}
