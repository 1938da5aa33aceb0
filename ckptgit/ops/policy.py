"""``git ckpt policy check`` and ``git ckpt policy stats``: guardrails on demand, and how often
each rule fired, was overridden or paused a run (from ``refs/ckpt/policy-log``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ckptgit import sidecar
from ckptgit.errors import UsageError
from ckptgit.model import Checkpoint
from ckptgit.ops.check import latest_per_name
from ckptgit.policy import enforce, records
from ckptgit.policy.guardrails import Outcome, evaluate
from ckptgit.repo import Repo


@dataclass(frozen=True)
class Judged:
    ckpt: Checkpoint
    outcomes: tuple[Outcome, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.ckpt.id, "name": self.ckpt.name, "commit": self.ckpt.commit,
                "outcomes": [o.to_dict() for o in self.outcomes]}


def check(repo: Repo, refs: Iterable[str] = (), action: str = "save",
          stage: str | None = None) -> list[Judged]:
    """The guardrails for ``action`` (into ``stage``) on each ref (default: the latest of every
    name), judged as the save, push or promotion would; each evaluation is recorded."""
    if stage is not None:
        repo.config.rule(stage)  # a clear refusal for an unknown stage
        action = "promote"
    if action not in ("save", "push", "promote"):
        raise UsageError(f"--action must be save, push or promote, not {action!r}")
    policy = enforce.policy_of(repo)
    entries = repo.checkpoints()
    targets = [repo.resolve(r) for r in refs] or latest_per_name(entries)
    by_id = {c.id: c for c in entries}
    docs = sidecar.load_saved(repo.git, targets)
    out = []
    for ckpt, doc in zip(targets, docs, strict=True):
        parent = by_id.get(doc.parent or "")
        accepted = {o["rule"]: o["rationale"] for o in doc.overrides()}
        verdict = evaluate(policy.guardrails, enforce.subject(repo, policy, doc, parent),
                           action, stage, repo.config.raw, accepted)
        enforce.log_outcome(repo, f"check:{action}", ckpt.name, ckpt.id, verdict,
                            refused=False, stage=stage)
        out.append(Judged(ckpt, verdict.outcomes))
    return out


@dataclass
class Counts:
    fired: int = 0
    overridden: int = 0
    paused: int = 0
    refused: int = 0

    def to_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class Stats:
    evaluations: int = 0
    refusals: int = 0
    rules: dict[str, Counts] = field(default_factory=dict)
    months: dict[str, dict[str, Counts]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"evaluations": self.evaluations, "refusals": self.refusals,
                "rules": {r: c.to_dict() for r, c in sorted(self.rules.items())},
                "months": {m: {r: c.to_dict() for r, c in sorted(rules.items())}
                           for m, rules in sorted(self.months.items())}}


def stats(repo: Repo, since: str | None = None) -> Stats:
    """Per rule and per month (``YYYY-MM``, UTC): fired, overridden, paused, refused."""
    out = Stats()
    for rec in records.read(repo.git, records.LOG_REF):
        body = rec.body
        month = str(body.get("when") or rec.when)[:7]
        if since is not None and month < since:
            continue
        if str(body.get("action", "")).startswith("check:"):
            continue  # re-judging a saved checkpoint on demand is not a new firing
        out.evaluations += 1
        out.refusals += bool(body.get("refused"))
        for item in body.get("outcomes") or []:
            if isinstance(item, dict) and item.get("result") == "fail":
                _count(out, month, str(item.get("rule")), item, body)
    return out


def _count(out: Stats, month: str, rule: str, item: dict[str, Any],
           body: dict[str, Any]) -> None:
    for counts in (out.rules.setdefault(rule, Counts()),
                   out.months.setdefault(month, {}).setdefault(rule, Counts())):
        counts.fired += 1
        counts.overridden += "override" in item
        counts.paused += body.get("paused_by") == rule
        counts.refused += bool(body.get("refused")) and item.get("severity") == "error" \
            and "override" not in item
