"""The chain of custody, from git alone: every save and every tag event, in time order.

Saves come from the save commits (author, date, code commit, data inputs, seal); schema
migrations from the commits of ``git ckpt migrate`` (who, when, which sidecars, from which
version; failed when the new text is not exactly the migration of the old); OMS
signatures from the commits of ``git ckpt sign`` (who, when, which key, signer); promotions,
reverts, deprecations and locks from governance's tag history (signer, rationale, approvers).
Each event carries the verdict of ``verify`` for it, so the report states what was checked,
not only what was claimed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ckptgit.errors import UsageError
from ckptgit.git import separators
from ckptgit.governance import tagevents
from ckptgit.integrity import omscheck, records, tagcheck
from ckptgit.integrity.findings import Report
from ckptgit.model import Checkpoint
from ckptgit.ops.verify import verify
from ckptgit.repo import Repo


@dataclass
class Event:
    when: str  # ISO 8601 UTC
    action: str  # save | migrate | sign | promote | revert | deprecate | register | unassign |
    # lock | unlock
    name: str
    who: str
    status: str  # ok | failed | unverifiable | unsigned...
    details: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    order: str = ""  # sort key: a save's created_at is finer than commit seconds

    def to_dict(self) -> dict[str, Any]:
        return {"when": self.when, "action": self.action, "name": self.name, "who": self.who,
                "status": self.status, "problems": self.problems, **self.details}


@dataclass
class Audit:
    events: list[Event]
    holders: dict[str, str]  # "name#stage" -> checkpoint id
    repo: str
    head: str | None

    @property
    def failures(self) -> list[Event]:
        return [e for e in self.events if e.status not in ("ok", "pruned")]


def audit(repo: Repo, name: str | None = None, since: str | None = None,
          offline: bool = False) -> Audit:
    cutoff = _parse_since(since) if since else None
    entries = [c for c in repo.checkpoints() if name is None or c.name == name]
    report = verify(repo, [c.id for c in entries], offline=offline) if entries else None
    tags = tagevents.read(repo.git, name)
    events = (_saves(repo, entries, report) + _migrations(repo, name, report)
              + _sign_events(repo, name) + _tag_events(repo, name, tags)
              + _policy_events(repo, name) + _forgeries(repo, name)
              + (_refused_saves(repo, entries) if name is None else []))
    events.sort(key=lambda e: e.order or e.when)
    if cutoff:
        events = [e for e in events if e.when >= cutoff]
    holders = {f"{n}#{s}": str(ev.trailers.get("Ckpt-Id") or ev.commit[:12])
               for (n, s), ev in tagevents.holders(tags[0]).items()}
    return Audit(events, holders, str(repo.root), repo.git.head())


def _policy_events(repo: Repo, name: str | None) -> list[Event]:
    """Pauses and resumes (refs/ckpt/runs) and prune runs (refs/ckpt/retention): unsigned
    records, shown with the commit that holds them."""
    from ckptgit.policy import records as policy_records
    from ckptgit.policy import runs

    out = [Event(when=e.when, action=e.action, name=e.name, who=e.who, status="ok",
                 details={"rule": e.rule, "reason": e.reason, "checkpoint": e.checkpoint,
                          "record": f"{policy_records.RUNS_REF} {e.commit[:12]}"},
                 order=e.when)
           for e in reversed(runs.events(repo.git)) if name is None or e.name == name]
    for rec in policy_records.read(repo.git, policy_records.RETENTION_REF):
        pruned = [p for p in rec.body.get("pruned") or [] if isinstance(p, dict)
                  and (name is None or p.get("name") == name)]
        if pruned:
            out.append(Event(when=str(rec.body.get("when", rec.when)), action="prune",
                             name=name or ",".join(sorted({str(p.get("name")) for p in pruned})),
                             who=str(rec.body.get("who", "")), status="ok",
                             details={"pruned": [p.get("id") for p in pruned],
                                      "freed": rec.body.get("freed"),
                                      "record": f"{policy_records.RETENTION_REF} "
                                                f"{rec.commit[:12]}"}))
    return out


def _refused_saves(repo: Repo, entries: list[Checkpoint]) -> list[Event]:
    """Save commits whose record no reader accepts (over a limit, unreadable): failed events
    named by their commit, never silently left out of the chain."""
    from ckptgit.governance import refused

    return [Event(datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "save",
                  f"commit {commit[:12]}", "?", "failed", {"commit": commit}, [why])
            for commit, when, why in refused.saves(repo.git, {c.commit for c in entries})]


def _parse_since(text: str) -> str:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise UsageError(f"--since {text!r}: give a date or time in ISO 8601, e.g. "
                         "2024-05-01 or 2024-05-01T12:00Z") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _saves(repo: Repo, entries: list[Checkpoint], report: Report | None) -> list[Event]:
    """Each save, with verify's verdict and the sidecar verify already read and parsed."""
    if report is None:
        return []
    state = {s.ckpt.id: s for s in report.checkpoints}
    authors = _authors(repo, [c.commit for c in entries])
    out = []
    for c in entries:
        st = state[c.id]
        doc = st.value
        who, when = authors.get(c.commit, ("?", c.created_at))
        out.append(Event(
            when=when, action="save", name=c.name, who=who, status=st.state,
            details={"id": c.id, "commit": c.commit, "seal": f"sha256:{c.sha256}",
                     "code_commit": doc.code.commit if doc else None,
                     "dirty": doc.code.dirty if doc else None,
                     "data": [{"path": d.path, "md5": d.md5}
                              for d in (doc.data if doc else None) or ()],
                     "verified_from": st.verified_from},
            problems=[f.message for f in st.findings], order=c.created_at))
    return out


def _migrations(repo: Repo, name: str | None, report: Report | None) -> list[Event]:
    """Commits of ``git ckpt migrate`` reachable from HEAD: one event each, judged by the rule
    verify applied (every rewritten sidecar must be exactly the migration of the old)."""
    if report is None:
        return []
    entries = repo.checkpoints()
    names = {c.sidecar_path: c.name for c in entries} | {c.dvcfile: c.name for c in entries}
    trailer = records.MIGRATE_TRAILER
    field, record = separators()
    fmt = f"{record}%H{field}%an <%ae>{field}%at{field}%(trailers:key={trailer},valueonly)" \
          f"{field}"
    text = repo.git.out(["log", "--no-merges", f"--format={fmt}", "--name-only",
                         f"--grep=^{trailer}:", "HEAD", "--", *sorted(names)])
    rejected: dict[str, list[str]] = {}
    for edit in report.edits:
        what = "; ".join(edit.changes) or "contents changed"
        rejected.setdefault(edit.commit, []).append(
            f"{edit.path} is not a faithful migration: {what}")
    out = []
    for rec in text.split(record)[1:]:
        commit, who, when, steps, files = rec.split(field, 4)
        paths = sorted(p for p in files.split() if p in names)
        touched = sorted({names[p] for p in paths})
        if not steps.strip() or (name is not None and name not in touched):
            continue
        problems = rejected.get(commit, [])
        out.append(Event(
            when=tagevents.iso(int(when)), action="migrate", name=", ".join(touched), who=who,
            status="failed" if problems else "ok",
            details={"commit": commit, "migrated": ", ".join(steps.split()), "sidecars": paths},
            problems=problems))
    return out


def _forgeries(repo: Repo, name: str | None) -> list[Event]:
    """Commits that claim a save they are not, and trust changes nobody entitled signed."""
    from ckptgit import index

    forged = [f for f in index.forgeries(repo.git) if name is None or f.name == name]
    authors = _authors(repo, [f.commit for f in forged]) if forged else {}
    out = []
    for f in forged:
        who, when = authors.get(f.commit, ("?", ""))
        out.append(Event(when, "forged-save", f.name, who, "failed",
                         {"id": f.id, "commit": f.commit},
                         [f"claims to save {f.name} {f.id[:8]} but {f.reason}"]))
    out += [Event("", "trust", ".ckpt/", "?", "failed", {}, [f.message])
            for f in tagcheck.trust_findings(repo)]
    return out


def _authors(repo: Repo, commits: list[str]) -> dict[str, tuple[str, str]]:
    field, record = separators()
    fmt = f"{record}%H{field}%an <%ae>{field}%at"
    text = repo.git.out(["log", "--no-walk=unsorted", f"--format={fmt}", *commits])
    out = {}
    for rec in text.split(record)[1:]:
        commit, who, when = rec.strip().split(field)
        out[commit] = (who, tagevents.iso(int(when)))
    return out


def _sign_events(repo: Repo, name: str | None) -> list[Event]:
    """OMS signatures committed by 'git ckpt sign': who ran it, when, with which key."""
    out = []
    for s in omscheck.read(repo, name):
        details = {"id": s.ckpt_id, "commit": s.commit, "signature": s.path, "key": s.key,
                   "signer": s.signer}
        out.append(Event(tagevents.iso(s.when), "sign", s.name, s.who, s.status,
                         {k: v for k, v in details.items() if v},
                         [*s.problems, *([s.unverifiable] if s.unverifiable else [])]))
    return out


def _tag_events(repo: Repo, name: str | None,
                tags: tuple[list[tagevents.Event], list[tagevents.LockEvent]]) -> list[Event]:
    events, locks = tags
    verdicts = tagcheck.check(repo, name, tags)
    ratified = tagcheck.ratification_states(repo, events)  # emergency reverts stay flagged
    out = []
    for ev in events:
        d = ev.to_dict() | {"ratification": ratified.get(ev.tag)}
        problems = verdicts.get(ev.tag, []) + (
            ["emergency revert past its window, not ratified (git ckpt ratify)"]
            if d["ratification"] == "overdue" else [])
        out.append(Event(
            when=d["created_at"], action=d["action"], name=ev.name,
            who=ev.tagger or "?" if not problems else f"{ev.tagger or '?'} (unverified)",
            status="ok" if not problems else "failed",
            details={k: d[k] for k in ("tag", "stage", "id", "commit", "signer", "rationale",
                                       "approved_by", "request", "emergency", "ratification",
                                       "reverts", "impact_window") if d.get(k)},
            problems=problems))
    for lock in locks:
        problems = verdicts.get(lock.tag, [])
        out.append(Event(tagevents.iso(lock.created_at), lock.kind, lock.stage, lock.tagger or "?",
                         "ok" if not problems else "failed",
                         {"tag": lock.tag, "rationale": lock.rationale}, problems))
    return out
