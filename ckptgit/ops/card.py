"""``git ckpt card``: the facts of one checkpoint's Hugging Face model card.

The sidecar (and its parent's) in one ``cat-file --batch``, stage events from the report's
one reader (judged by the verifier), verify's metadata verdict on the record.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from ckptgit import sidecar
from ckptgit.compare import metrics, sections
from ckptgit.errors import CkptError
from ckptgit.governance import tagevents
from ckptgit.governance import trailers as tr
from ckptgit.model import Checkpoint
from ckptgit.repo import Repo
from ckptgit.report import model as rm

_SAFE = re.compile(r"[^A-Za-z0-9._-]")


def file_name(ckpt: Checkpoint) -> str:
    """The card's file name in a report: names and ids come from history, so never a path."""
    return f"{_SAFE.sub('_', ckpt.name)}-{_SAFE.sub('_', ckpt.id)}.md"


def settings(repo: Repo) -> rm.CardSettings:
    raw = repo.config.raw.get("card")
    if not isinstance(raw, Mapping):
        return rm.CardSettings()

    def words(key: str) -> tuple[str, ...]:
        value = raw.get(key) or ()
        return tuple(str(v) for v in ([value] if isinstance(value, str) else value))

    def one(key: str) -> str | None:
        return str(raw[key]) if raw.get(key) is not None else None

    return rm.CardSettings(one("license"), words("tags"), words("language"),
                           one("library_name"), one("pipeline_tag"), one("task") or "other")


def facts(repo: Repo, ckpt: Checkpoint, docs: Mapping[str, dict[str, Any]],
          by_id: Mapping[str, Checkpoint], events: Sequence[rm.StageEvent],
          integrity: rm.Integrity | None, card: rm.CardSettings) -> rm.CardFacts:
    doc = docs.get(ckpt.id, {})
    parent = by_id.get(ckpt.parent) if ckpt.parent else None
    parent_doc = docs.get(parent.id, {}) if parent else {}
    changes: tuple[rm.MetricLine, ...] = ()
    params: tuple[tuple[str, str, Any, Any], ...] = ()
    if parent is not None:
        rows = metrics.compare(parent_doc.get("metrics") or parent.metrics,
                               doc.get("metrics") or ckpt.metrics, repo.config.metric_goals)
        changes = tuple(rm.MetricLine(r.name, r.old, r.new, r.direction, r.rel_delta)
                        for r in rows if r.change != "same")
        # most saves keep their parent's params: equal ones need no structural diff (the
        # report asks this of every checkpoint)
        if parent_doc.get("params") != doc.get("params"):
            params = tuple((c.path, c.change, c.old, c.new)
                           for c in sections.params(parent_doc, doc))
    mine = tuple(e for e in events if e.ckpt_id == ckpt.id
                 or (e.ckpt_id is None and e.commit == ckpt.commit and e.name == ckpt.name))
    subject = f"{ckpt.name} {ckpt.short_id}"
    problems = tuple(msg for who, msg in (integrity.failed if integrity else ()) if who == subject)
    if not doc:
        problems += ("the sidecar of this checkpoint could not be read",)
    return rm.CardFacts(ckpt, doc, parent, parent_doc, changes, params, mine, problems, card)


def stage_events(repo: Repo) -> tuple[list[rm.StageEvent], list[rm.LockMark]]:
    """Every stage event and lock with the verifier's verdict: the ONE place the report and
    the cards read tags, so it can be pointed at a stricter reader in one line."""
    from ckptgit.integrity import tagcheck

    events, locks = tagevents.read(repo.git)
    verdicts = tagcheck.check(repo, None, (events, locks))
    out = [_event(ev, tuple(verdicts.get(ev.tag, ["not checked"]))) for ev in events]
    marks = [rm.LockMark(lk.tag, lk.stage, lk.kind, tagevents.iso(lk.created_at), lk.tagger,
                         lk.rationale, not verdicts.get(lk.tag, ["not checked"]),
                         tuple(verdicts.get(lk.tag, ["not checked"]))) for lk in locks]
    return out, marks


def _event(ev: tagevents.Event, problems: tuple[str, ...]) -> rm.StageEvent:
    return rm.StageEvent(
        tag=ev.tag, name=ev.name, action=ev.action, stage=ev.stage, version=ev.version,
        commit=ev.commit, ckpt_id=ev.trailers.get(tr.ID), when=tagevents.iso(ev.created_at),
        signer=ev.trailers.get(tr.SIGNED_BY) or ev.tagger or None,
        rationale=ev.trailers.get(tr.RATIONALE), approvers=tuple(ev.trailers.all(tr.APPROVED_BY)),
        reverts=ev.trailers.get(tr.REVERTS), verified=not problems, problems=problems,
        number=ev.number, kind=ev.kind)


def card(repo: Repo, ref: str) -> rm.CardFacts:
    """The facts for ``git ckpt card REF`` (verify's record pass for this one checkpoint)."""
    from ckptgit.ops.verify import verify

    ckpt = repo.resolve(ref)
    entries = repo.checkpoints()
    by_id = {c.id: c for c in entries}
    wanted = [ckpt] + ([by_id[ckpt.parent]] if ckpt.parent in by_id else [])
    docs = load(repo, wanted)
    events, _ = stage_events(repo)
    report = verify(repo, [ckpt.id], offline=True, records_only=True)
    failed = tuple((f.subject, f.message) for f in report.failures(allow_missing=True))
    integrity = rm.Integrity(1, failed, 0, ())
    return facts(repo, ckpt, docs, by_id, events, integrity, settings(repo))


def load(repo: Repo, ckpts: Sequence[Checkpoint]) -> dict[str, dict[str, Any]]:
    """id -> sidecar as saved, for every readable one (one ``cat-file --batch``)."""
    specs = {f"{c.commit}:{c.sidecar_path}": c for c in ckpts}
    out: dict[str, dict[str, Any]] = {}
    for spec, raw in repo.git.cat_files(list(specs)).items():
        if raw is None:
            continue
        try:
            out[specs[spec].id] = sidecar.load(raw, spec)
        except CkptError:
            continue  # its card says the record is unreadable
    return out


def render(info: rm.CardFacts) -> str:
    from ckptgit.report import card as render_card

    return render_card.render(info)
