"""Which checkpoints keep their bytes: the ``retention:`` rules as a pure plan (docs/retention.md).

Each checkpoint is kept or pruned with every reason that applies, in this order of strength:

1. a tag ever named its commit (a stage, a version, a revert target): kept, always;
2. a label with a maximum age (``max_age_days: {pii: 30}``) it has outlived: pruned, even when
   a keep rule below holds (the reason says which one it overrode);
3. ``keep_labels`` (default ``[keep]``), ``keep_last`` N per name, ``keep_best`` K per name by
   a metric, ``keep_younger_than_days`` D: kept;
4. anything else: pruned.

Only bytes go: sidecars, pointers and history stay, so lineage, metadata diffs and audit work.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ckptgit.model import Checkpoint
from ckptgit.policy.settings import Retention


@dataclass(frozen=True)
class Decision:
    ckpt: Checkpoint
    keep: bool
    rule: str  # the deciding rule: stage-tag, max-age:LABEL, label:L, keep-last, keep-best,
    # younger-than, no-rule, already-pruned
    reasons: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.ckpt.id, "name": self.ckpt.name, "commit": self.ckpt.commit,
                "created_at": self.ckpt.created_at, "size": self.ckpt.size,
                "action": "keep" if self.keep else "prune", "rule": self.rule,
                "reasons": list(self.reasons)}


@dataclass
class _Why:
    keep: list[tuple[str, str]] = field(default_factory=list)  # (rule, reason)


def plan(ckpts: Iterable[Checkpoint], rules: Retention, tagged: set[str], now: datetime,
         goals: Mapping[str, str] | None = None,
         pruned: Mapping[str, str] | None = None) -> list[Decision]:
    """One decision per checkpoint; ``tagged`` holds the commits any tag ever named, ``pruned``
    the ids an earlier run pruned (id -> when)."""
    by_name: dict[str, list[Checkpoint]] = {}
    for c in ckpts:
        by_name.setdefault(c.name, []).append(c)
    done = pruned or {}
    out = []
    for group in by_name.values():
        group.sort(key=lambda c: c.created_at, reverse=True)
        why = _keep_reasons(group, rules, now, dict(goals or {}))
        out += [_decide(c, rules, why[c.id], c.commit in tagged, now, done.get(c.id))
                for c in group]
    return out


def _keep_reasons(group: list[Checkpoint], rules: Retention, now: datetime,
                  goals: dict[str, str]) -> dict[str, _Why]:
    why = {c.id: _Why() for c in group}
    if rules.keep_last:
        for c in group[:rules.keep_last]:
            why[c.id].keep.append(("keep-last", f"one of the last {rules.keep_last} of "
                                                 f"{c.name}"))
    if rules.keep_best_metric and rules.keep_best_count:
        metric = rules.keep_best_metric
        goal = rules.keep_best_goal or goals.get(metric, "max")
        scored = [(v, c) for c in group if (v := _number(c.metrics, metric)) is not None]
        scored.sort(key=lambda vc: vc[0], reverse=goal != "min")
        for value, c in scored[:rules.keep_best_count]:
            why[c.id].keep.append(("keep-best", f"one of the best {rules.keep_best_count} by "
                                                 f"{metric} ({value:g}, {goal})"))
    for c in group:
        labels = sorted(set(c.labels) & set(rules.keep_labels))
        if labels:
            why[c.id].keep.append((f"label:{labels[0]}", f"labelled {labels[0]}"))
        days = _age_days(c, now)
        if rules.keep_younger_than_days is not None and days < rules.keep_younger_than_days:
            why[c.id].keep.append(("younger-than", f"{days:.1f} days old, younger than "
                                                    f"{rules.keep_younger_than_days:g}"))
    return why


def _decide(c: Checkpoint, rules: Retention, why: _Why, tagged: bool, now: datetime,
            pruned_at: str | None) -> Decision:
    if pruned_at is not None:
        return Decision(c, False, "already-pruned", (f"bytes pruned on {pruned_at}",))
    expired = _expired_label(c, rules, now)
    if tagged:
        extra = (f"; {expired[1]}, but a tag named it, and tagged checkpoints are never "
                 "pruned" if expired else "")
        return Decision(c, True, "stage-tag", (f"a tag names commit {c.commit[:12]}{extra}",))
    if expired is not None:
        overridden = [r for _, r in why.keep]
        note = f" (overrides: {'; '.join(overridden)})" if overridden else ""
        return Decision(c, False, expired[0], (expired[1] + note,))
    if why.keep:
        return Decision(c, True, why.keep[0][0], tuple(r for _, r in why.keep))
    return Decision(c, False, "no-rule", ("no retention rule keeps it",))


def _expired_label(c: Checkpoint, rules: Retention, now: datetime) -> tuple[str, str] | None:
    days = _age_days(c, now)
    for label in sorted(set(c.labels) & set(rules.max_age_days)):
        limit = rules.max_age_days[label]
        if days > limit:
            return (f"max-age:{label}", f"labelled {label}, {days:.1f} days old: over its "
                                        f"maximum age of {limit:g} days")
    return None


def _age_days(c: Checkpoint, now: datetime) -> float:
    try:
        created = datetime.fromisoformat(c.created_at.replace("Z", "+00:00"))
    except ValueError:
        return 0.0  # an unreadable date never makes a checkpoint look old
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return max(0.0, (now - created).total_seconds() / 86400)


def _number(metrics: Mapping[str, Any], dotted: str) -> float | None:
    value: Any = metrics
    for part in dotted.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if value == value else None  # NaN never ranks among the best
