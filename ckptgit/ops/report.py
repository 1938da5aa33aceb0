"""``git ckpt report``: gather what the site shows, then hand it to ``ckptgit.report``.

Everything comes from the index (checkpoints and their metrics), one tag read judged by the
one verifier, verify's metadata pass (no bytes hashed), ``check``'s findings and one diff per
name; the cards' whole sidecars come from ``report/sidecars.py`` (each blob parsed once).
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ckptgit.compare import metrics as metric_rules
from ckptgit.errors import CkptError, UsageError
from ckptgit.model import Checkpoint
from ckptgit.ops import card as card_ops
from ckptgit.ops.card import stage_events
from ckptgit.repo import Repo

if TYPE_CHECKING:
    from ckptgit.integrity.findings import Report
from ckptgit.report import model as rm

log = logging.getLogger(__name__)

DIFF_SECTIONS = ("metrics", "params", "tensors", "slices")


def gather(repo: Repo, names: Sequence[str] = (),
           first: Callable[[], object] | None = None) -> rm.Site:
    """The site's values; ``first`` runs while the tags are judged, before verify's record
    pass (the cards' sidecars: their parse fills verify's cache)."""
    entries = repo.checkpoints()
    known = sorted({c.name for c in entries})
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UsageError(f"no checkpoints named {unknown[0]!r} (names: "
                         f"{', '.join(known) or 'none yet'})")
    chosen = list(names) or known
    _ = repo.config  # loaded here, not raced for by the thread below
    # the tags' verification waits on ssh-keygen, the records' parse keeps the cores busy:
    # side by side, the report costs about the longer of the two, not their sum
    with ThreadPoolExecutor(1) as pool:
        tags = pool.submit(stage_events, repo)
        if first is not None:
            first()
        records = _records(repo, entries)
        events, locks = tags.result()
    reports = tuple(_name_report(repo, n, entries, events) for n in chosen)
    integrity = _integrity(len(entries), records, events)
    return rm.Site(
        repo=Path(repo.root).name, generated_at=_now(), head=repo.git.head(),
        stages=tuple(repo.config.stages), names=reports, locks=tuple(locks),
        integrity=integrity, findings=_findings(repo) if entries else (),
        config_stage_rules={s: _rule_text(repo, s) for s in repo.config.stages})


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _name_report(repo: Repo, name: str, entries: list[Checkpoint],
                 events: list[rm.StageEvent]) -> rm.NameReport:
    ckpts = sorted((c for c in entries if c.name == name), key=lambda c: c.created_at)
    mine = tuple(e for e in events if e.name == name)
    holdings = _holdings(repo, ckpts, mine)
    key = _key_metrics(repo, ckpts)
    diff = _diff(repo, ckpts, holdings)
    cards = {c.id: f"cards/{card_ops.file_name(c)}" for c in ckpts}
    return rm.NameReport(name, tuple(ckpts), mine, holdings, diff, key, cards)


def _find(ckpts: Iterable[Checkpoint], ev: rm.StageEvent | None) -> Checkpoint | None:
    if ev is None:
        return None
    for c in ckpts:
        if (ev.ckpt_id and c.id == ev.ckpt_id) or (not ev.ckpt_id and c.commit == ev.commit):
            return c
    return None


def _holdings(repo: Repo, ckpts: list[Checkpoint],
              events: Sequence[rm.StageEvent]) -> tuple[rm.Holding, ...]:
    """Per stage: the assignment with the highest counter (as GTO reads it) and the one before
    it that put a different checkpoint there."""
    out = []
    for stage in repo.config.stages:
        chain = sorted((e for e in events if e.stage == stage and e.number is not None),
                       key=lambda e: e.number or 0)
        if not chain or chain[-1].kind != "assign":
            continue
        now = chain[-1]
        before = [e for e in chain[:-1] if e.kind == "assign" and e.commit != now.commit]
        prev = before[-1] if before else None
        held, was = _find(ckpts, now), _find(ckpts, prev)
        lines = _compare(repo, was, held) if held and was else ()
        out.append(rm.Holding(stage, now, held, prev, was, lines))
    return tuple(out)


def _compare(repo: Repo, old: Checkpoint, new: Checkpoint) -> tuple[rm.MetricLine, ...]:
    from ckptgit.compare import metrics

    rows = metrics.compare(old.metrics, new.metrics, repo.config.metric_goals)
    return tuple(rm.MetricLine(r.name, r.old, r.new, r.direction, r.rel_delta) for r in rows
                 if r.change != "same" or r.direction != "n/a")


def _key_metrics(repo: Repo, ckpts: list[Checkpoint]) -> tuple[str, ...]:
    """The configured key metrics, then every other numeric metric seen (at most 8)."""
    seen: dict[str, None] = dict.fromkeys(repo.config.key_metrics)
    for c in ckpts:
        for k, v in metric_rules.flatten(c.metrics).items():
            if metric_rules.number(v) is not None:
                seen.setdefault(k)
    return tuple(list(seen)[:8])


def _diff(repo: Repo, ckpts: list[Checkpoint],
          holdings: tuple[rm.Holding, ...]) -> rm.DiffView | None:
    """The latest save against the holder of the highest stage that is held."""
    held = [h for h in holdings if h.checkpoint is not None]
    if not ckpts or not held:
        return None
    top, latest = held[-1], ckpts[-1]
    assert top.checkpoint is not None  # noqa: S101 - filtered above; narrows the type
    from ckptgit.ops.diff import compare

    try:
        d = compare(repo, top.checkpoint.id, latest.id, only=DIFF_SECTIONS)
    except CkptError as exc:
        log.warning("report: no diff for %s: %s", latest.name, exc)
        return None
    return rm.DiffView(
        old=top.checkpoint, new=latest, stage=top.stage,
        metrics=tuple(rm.MetricLine(r.name, r.old, r.new, r.direction, r.rel_delta)
                      for r in d.sections.get("metrics") or ()),
        params=tuple((c.path, c.change, c.old, c.new) for c in d.sections.get("params") or ()),
        slices=tuple((s.slice, s.metric, s.delta) for s in d.sections.get("slices") or ()
                     if s.delta is not None),
        modules=_modules(d.sections.get("tensors")))


def _modules(tdiff: Any) -> tuple[tuple[str, int, int, int], ...]:
    """Tensor header changes attributed to modules (the name up to its last dot)."""
    if tdiff is None or not getattr(tdiff, "available", False):
        return ()
    counts: dict[str, list[int]] = {}
    for col, specs in enumerate((tdiff.added, tdiff.removed, tdiff.changed)):
        for spec in specs:
            module = spec.name.rsplit(".", 1)[0]
            counts.setdefault(module, [0, 0, 0])[col] += 1
    return tuple((m, a, r, c) for m, (a, r, c) in sorted(counts.items()))


def _records(repo: Repo, entries: list[Checkpoint]) -> Report | None:
    from ckptgit.ops.verify import verify

    return verify(repo, None, offline=True, records_only=True) if entries else None


def _integrity(count: int, report: Report | None,
               events: list[rm.StageEvent]) -> rm.Integrity:
    failed: list[tuple[str, str]] = []
    if report is not None:
        failed = [(f.subject, f.message) for f in report.failures(allow_missing=True)]
    bad = tuple((e.tag, "; ".join(e.problems)) for e in events if not e.verified)
    return rm.Integrity(count, tuple(failed), len(events), bad)


def _findings(repo: Repo) -> tuple[rm.PolicyFinding, ...]:
    from ckptgit.ops import check as checks

    try:
        found = checks.run(repo)
    except CkptError as exc:
        log.warning("report: check did not run: %s", exc)
        return ()
    return tuple(rm.PolicyFinding(f.name, f.id, f.severity, f.rule, f.message) for f in found
                 if f.severity in ("error", "warning"))


def _rule_text(repo: Repo, stage: str) -> str:
    rule = repo.config.rule(stage)
    parts = [f"{rule.approvals} approval{'s' if rule.approvals != 1 else ''}"]
    parts.append(f"signed by {', '.join(rule.signers)}" if rule.signers
                 else "signed by any allowed signer")
    if rule.gates:
        parts.append("gates: " + "; ".join(g.describe() for g in rule.gates))
    if rule.requires_previous:
        parts.append("must have passed the stage before")
    return ", ".join(parts)


def write(repo: Repo, out_dir: str | os.PathLike[str], names: Sequence[str] = ()) -> list[Path]:
    """Gather and write the site (and one card per checkpoint) into ``out_dir``."""
    from ckptgit.report import site as render

    target = Path(out_dir)
    if target.exists() and not target.is_dir():
        raise UsageError(f"{out_dir} is a file: give -o a directory for the report")
    docs: dict[str, dict[str, Any]] = {}
    data = gather(repo, names, lambda: docs.update(_card_sidecars(repo, names)))
    pages = render.write(data, target)
    events = [e for n in data.names for e in n.events]
    (target / "cards").mkdir(parents=True, exist_ok=True)
    by_id = {c.id: c for n in data.names for c in n.checkpoints}
    settings = card_ops.settings(repo)
    for n in data.names:
        for c in n.checkpoints:
            facts = card_ops.facts(repo, c, docs, by_id, events, data.integrity, settings)
            _write_changed(target / n.cards[c.id], card_ops.render(facts))
    return pages


def _card_sidecars(repo: Repo, names: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The whole sidecars the cards show (verify's records keep only what verify reads: no
    owner, notes, params or environment). Read first, so that every sidecar parsed here goes
    into verify's cache too and the record pass that follows parses none of them again."""
    from ckptgit.integrity import parsecache
    from ckptgit.report import sidecars

    entries = [c for c in repo.checkpoints() if not names or c.name in names]
    cache = parsecache.ParseCache(repo.git.ckpt_dir)
    docs = sidecars.load(repo.git, entries, cache.put)
    try:
        cache.save()
    except OSError as exc:  # a read-only .git: verify parses them itself
        log.warning("report: parsed sidecars not kept: %s", exc)
    return docs


def _write_changed(path: Path, text: str) -> None:
    """Write ``path`` unless it already holds ``text``: a report regenerated into the same
    directory rewrites only the cards that changed (rewriting a thousand files costs seconds
    of I/O on a busy disk; comparing them costs milliseconds). Whatever else sits at the path
    (a symlink out, a FIFO) is replaced, never read or written through."""
    data = text.encode("utf-8")
    try:
        st = path.lstat()
    except FileNotFoundError:
        st = None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise UsageError(f"{path} is a directory: remove it, or give -o a new directory")
    if st is not None and stat.S_ISREG(st.st_mode):
        if st.st_size == len(data) and path.read_bytes() == data:
            return
    elif st is not None:
        path.unlink()
    path.write_bytes(data)
