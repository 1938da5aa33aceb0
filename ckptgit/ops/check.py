"""``git ckpt check``: the rules of ``compare/checks.py`` over the targets and what they are
compared with (parent, stage holders, a baseline)."""

from __future__ import annotations

from collections.abc import Iterable

from ckptgit.compare import checks, evaldata
from ckptgit.compare.settings import from_raw
from ckptgit.governance import tagevents
from ckptgit.model import Checkpoint, Sidecar
from ckptgit.repo import Repo

Finding = checks.Finding
EVAL_RULE = "eval-data-differs"


def run(repo: Repo, refs: Iterable[str] = (), baseline: str | None = None) -> list[checks.Finding]:
    """Findings for ``refs`` (default: the latest checkpoint of every name)."""
    settings = from_raw(repo.config.raw)
    entries = repo.checkpoints()
    by_id = {c.id: c for c in entries}
    targets = [repo.resolve(r) for r in refs] or latest_per_name(entries)
    base = repo.resolve(baseline) if baseline else None
    held = tagevents.stage_holders(repo.git)
    related = checks.related(targets, by_id, held, settings, entries, base)
    docs = _docs(repo, targets + [c for group in related.values() for _, c in group])
    found: list[checks.Finding] = []
    goals = repo.config.metric_goals
    how = evaldata.mode(repo.config.raw)
    for target in {t.id: t for t in targets}.values():
        found += checks.findings_for(target, docs, related[target.id], settings, goals)
        found += _eval_data(target, docs, related[target.id], how)
    order = {"error": 0, "warning": 1, "info": 2}
    found.sort(key=lambda f: (order.get(f.severity, 3), f.name, f.id, f.rule))
    return found


def _eval_data(target: Checkpoint, docs: dict[str, Sidecar],
               related: list[tuple[str, Checkpoint]], how: str) -> list[checks.Finding]:
    """A comparison made across different evaluation data is a warning (or refused)."""
    found = []
    for role, other in related:
        against = f"{role.replace('stage:', 'the holder of ')} {other.short_id}"
        mismatches = evaldata.compare(other.short_id, docs[other.id], target.short_id,
                                      docs[target.id])
        for m in evaldata.judge(mismatches, how, f"check {target.short_id} versus {against}"):
            found.append(checks.Finding(EVAL_RULE, "warning", target.id, target.name,
                                        f"versus {against}: {m.message()}"))
    return found


def latest_per_name(entries: list[Checkpoint]) -> list[Checkpoint]:
    latest: dict[str, Checkpoint] = {}
    for c in entries:
        if c.name not in latest or c.created_at > latest[c.name].created_at:
            latest[c.name] = c
    return sorted(latest.values(), key=lambda c: c.name)


def _docs(repo: Repo, ckpts: list[Checkpoint]) -> dict[str, Sidecar]:
    from ckptgit.ops.diff import load_sidecars  # parsed once per Repo (review: diff, check)

    unique = list({c.id: c for c in ckpts}.values())
    return {c.id: doc for c, doc in zip(unique, load_sidecars(repo, unique), strict=True)}
