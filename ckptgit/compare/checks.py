"""The rules of ``git ckpt check`` over sidecars, flagging what a reviewer should look at
(``ops/check.py`` gathers the sidecars they read).

Each finding has a rule id, a severity (``error``/``warning``/``info``, from ``check.rules`` in
``.ckpt/config.yaml``) and a one-line message. Rules:

- ``regression-parent`` / ``regression-stage`` / ``regression-baseline``: a metric worse than
  the parent's, a stage holder's or ``--baseline``'s by more than ``check.regression``
  (relative; per metric in ``check.thresholds``).
- ``seed-missing``: no seeds recorded. ``seed-changed``: seeds differ from the parent within
  one run. ``environment-drift``: environment differs from the parent within one run.
- ``dirty-code``: saved from a dirty tree. ``non-finite-metric``: NaN or infinite metric.
- ``data-hash-missing``: no training data recorded, or an input without its hash.

A run is a chain of saves of one name whose steps increase: a child whose step is not above
its parent's (or that has no step) starts a new run, where new seeds are expected.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from ckptgit.compare import metrics, sections
from ckptgit.compare.result import MetricDelta
from ckptgit.compare.settings import Settings
from ckptgit.model import Checkpoint, Sidecar


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str
    id: str
    name: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


Related = dict[str, list[tuple[str, Checkpoint]]]


def related(targets: list[Checkpoint], by_id: dict[str, Checkpoint],
             held: dict[tuple[str, str], Any], settings: Settings, entries: list[Checkpoint],
             base: Checkpoint | None) -> Related:
    """For each target: ("parent", p), ("stage:NAME", holder), ("baseline", b) to compare with."""
    by_commit = {(c.name, c.commit): c for c in entries}
    out: Related = {}
    for t in targets:
        rel: list[tuple[str, Checkpoint]] = []
        if t.parent and t.parent in by_id:
            rel.append(("parent", by_id[t.parent]))
        for stage in _stages_for(t.name, held, settings):
            holder = by_commit.get((t.name, held[(t.name, stage)].commit))
            if holder is not None and holder.id != t.id:
                rel.append((f"stage:{stage}", holder))
        if base is not None and base.id != t.id:
            rel.append(("baseline", base))
        out[t.id] = rel
    return out


def _stages_for(name: str, held: dict[tuple[str, str], Any], settings: Settings) -> list[str]:
    """Configured stages, else the highest stage this name has a holder in."""
    mine = [stage for (n, stage) in held if n == name]
    if settings.stages:
        return [s for s in settings.stages if s in mine]
    return mine[-1:] if len(mine) <= 1 else [max(mine, key=_stage_rank)]


def _stage_rank(stage: str) -> int:
    known = ("dev", "staging", "production")
    return known.index(stage) if stage in known else -1


def findings_for(t: Checkpoint, docs: Mapping[str, Sidecar],
                 related: list[tuple[str, Checkpoint]], s: Settings,
                 goals: dict[str, str]) -> list[Finding]:
    doc = docs[t.id]
    raw = _own(doc)
    for role, other in related:
        rule = "regression-" + role.split(":")[0]
        against = f"{role.replace('stage:', 'the holder of ')} {other.short_id}"
        for row in metrics.compare(docs[other.id].metrics, doc.metrics, goals):
            if metrics.regression(row, s.threshold(row.name)):
                raw.append((rule, f"{row.name} got worse versus {against}: {_moved(row)}"))
        if role == "parent" and same_run(docs[other.id], doc):
            raw += _run_rules(docs[other.id], doc, other)
    return [Finding(rule, s.rules[rule], t.id, t.name, msg) for rule, msg in raw
            if s.rules.get(rule, "off") != "off"]


def _moved(row: MetricDelta) -> str:
    rel = f"{row.rel_delta * 100:+.1f} %, " if row.rel_delta is not None else ""
    return f"{row.old} -> {row.new} ({rel}goal {row.goal})"


def _own(doc: Sidecar) -> list[tuple[str, str]]:
    raw = []
    for name, value in metrics.flatten(doc.metrics).items():
        x = metrics.number(value)
        if x is not None and not math.isfinite(x):
            raw.append(("non-finite-metric", f"metric {name} is {value}: training diverged?"))
    if doc.code.dirty:
        raw.append(("dirty-code", "saved from a dirty work tree: the code commit alone does "
                                  "not reproduce it; commit before saving"))
    if not doc.seeds:
        raw.append(("seed-missing", "no seeds recorded: pass --seed torch=N (and numpy, "
                                    "python …) so the run can be repeated"))
    data = doc.data or ()
    if not data:
        raw.append(("data-hash-missing", "no training data recorded: pass --data PATH for "
                                         "each DVC-tracked input"))
    for entry in data:
        if not entry.md5:
            raw.append(("data-hash-missing", f"input {entry.path} has no hash"))
    return raw


def same_run(parent: Sidecar, child: Sidecar) -> bool:
    """Consecutive saves of one run: same name and a step above the parent's."""
    a, b = parent.step, child.step
    return (parent.name == child.name and isinstance(a, int)
            and isinstance(b, int) and b > a)


def _run_rules(parent: Sidecar, doc: Sidecar,
               other: Checkpoint) -> list[tuple[str, str]]:
    raw = []
    seeds = sections.seeds(parent, doc)
    if seeds:
        shown = ", ".join(f"{c.path} {c.old} -> {c.new}" for c in seeds[:3])
        raw.append(("seed-changed", f"seeds changed mid-run (after step {parent.step},"
                                    f" parent {other.short_id}): {shown}"))
    env = sections.environment(parent, doc)
    if env:
        shown = ", ".join(f"{c.path} {c.old} -> {c.new}" for c in env[:3])
        more = f" (+{len(env) - 3} more)" if len(env) > 3 else ""
        raw.append(("environment-drift", f"environment changed mid-run (parent "
                                         f"{other.short_id}): {shown}{more}"))
    return raw
