"""Evaluating guardrails on one checkpoint: the same function for save, the Tracker, promote,
the hooks and ``git ckpt policy check``.

A rule's expression sees ``name``, ``id``, ``step``, ``action`` (save | push | promote),
``stage`` (the target stage when promoting, else ""), ``params``, ``metrics``, ``seeds``,
``environment``, ``labels``, ``data`` (each input with ``path``, ``md5`` and ``labels``),
``code`` (``commit``, ``branch``, ``dirty``) and ``remote`` (``url``, ``scheme``, ``sse``: the
default DVC remote; empty strings when there is none).

A rule whose expression reads a field the checkpoint does not have does not apply: its result
is ``n/a`` (recorded, never a failure and never a crash). To demand a field, say so with CEL's
``has()``: ``require: has(seeds.torch)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ckptgit import expressions
from ckptgit.compare import checks
from ckptgit.compare.settings import from_raw
from ckptgit.model import Checkpoint, Sidecar
from ckptgit.policy.settings import Guardrail

CHECK_RULES = ("regression-parent", "seed-missing", "seed-changed", "environment-drift",
               "dirty-code", "non-finite-metric", "data-hash-missing")


@dataclass(frozen=True)
class Outcome:
    """What one rule said about one checkpoint."""

    rule: str
    severity: str  # warn | error
    result: str  # pass | fail | n/a
    message: str = ""
    pause: bool = False
    override: str | None = None  # the rationale when a failure was overridden
    # a check rule no guardrail names: recorded in the policy log only, never in the sidecar
    background: bool = False

    @property
    def fired(self) -> bool:
        return self.result == "fail"

    @property
    def blocking(self) -> bool:
        return self.fired and self.severity == "error" and self.override is None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rule": self.rule, "severity": self.severity,
                               "result": self.result}
        if self.message:
            out["message"] = self.message
        if self.pause:
            out["pause"] = True
        if self.override is not None:
            out["override"] = self.override
        if self.background:
            out["background"] = True
        return out


@dataclass(frozen=True)
class Verdict:
    outcomes: tuple[Outcome, ...] = ()

    @property
    def fired(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.fired]

    @property
    def blocking(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.blocking]

    @property
    def pausing(self) -> list[Outcome]:
        return [o for o in self.fired if o.pause and o.override is None]

    @property
    def overridden(self) -> list[Outcome]:
        return [o for o in self.fired if o.override is not None]

    @property
    def warnings(self) -> list[Outcome]:
        return [o for o in self.fired if o.severity == "warn" and not o.background]


@dataclass(frozen=True)
class Subject:
    """A checkpoint to judge: its sidecar and, for the run rules, its parent's."""

    doc: Sidecar
    parent: Sidecar | None = None
    remote: Mapping[str, str] = field(default_factory=dict)


def context(subject: Subject, action: str, stage: str | None) -> dict[str, Any]:
    """The names a CEL guardrail reads, built from the value here and nowhere else."""
    doc = subject.doc
    data = [dict(d.to_doc(), labels=list(d.extra.get("labels") or []))
            for d in doc.data or ()]
    return {
        "name": doc.name, "id": doc.id, "step": doc.step,
        "action": action, "stage": stage or "",
        "params": doc.params or {}, "metrics": doc.metrics or {},
        "seeds": doc.seeds or {}, "environment": doc.environment or {},
        "labels": list(doc.labels), "data": data,
        "code": doc.code.to_doc(),
        "remote": {"url": "", "scheme": "", "sse": "", **dict(subject.remote)},
    }


def needs_remote(rails: Sequence[Guardrail]) -> bool:
    """Whether any expression reads ``remote`` (reading DVC's config costs an import)."""
    return any(r.kind != "check" and "remote" in r.expression for r in rails)


def evaluate(rails: Sequence[Guardrail], subject: Subject, action: str,
             stage: str | None = None, raw_config: Mapping[str, Any] | None = None,
             overrides: Mapping[str, str] | None = None) -> Verdict:
    """Every rule that applies to ``action`` (into ``stage``), plus ``check``'s rules at save
    and push with the severities of ``raw_config``'s ``check.rules`` (as warnings, unless a
    guardrail names the rule with ``check:``)."""
    applying = [r for r in rails if r.applies(action, stage)]
    outcomes: list[Outcome] = []
    cel = [r for r in applying if r.kind != "check"]
    if cel:
        bound = expressions.bind(context(subject, action, stage))
        outcomes += [_cel(r, bound) for r in cel]
    if action in ("save", "push"):
        outcomes += _check_rules(applying, rails, subject, raw_config or {})
    given = overrides or {}
    return Verdict(tuple(replace(o, override=given[o.rule]) if o.fired and o.rule in given
                         else o for o in outcomes))


def _cel(rail: Guardrail, bound: Any) -> Outcome:
    try:
        value = expressions.evaluate_bound(rail.expression, bound, compiled=True)
    except expressions.ExpressionError as exc:
        return Outcome(rail.id, rail.severity, "n/a", f"does not apply: {_missing(exc)}",
                       rail.pause)
    if not isinstance(value, bool):
        return Outcome(rail.id, rail.severity, "n/a", f"gives {value!r}, not true/false",
                       rail.pause)
    fired = value if rail.kind == "forbid" else not value
    text = rail.message or f"{rail.kind} {rail.expression}"
    return Outcome(rail.id, rail.severity, "fail" if fired else "pass",
                   text if fired else "", rail.pause)


def _missing(exc: Exception) -> str:
    text = str(exc)
    return text.split(": ", 1)[1] if ": " in text else text


def _check_rules(applying: list[Guardrail], rails: Sequence[Guardrail], subject: Subject,
                 raw_config: Mapping[str, Any]) -> list[Outcome]:
    """``check``'s rules on the subject and its parent, as guardrails."""
    settings = from_raw(dict(raw_config))
    named = {r.expression: r for r in applying if r.kind == "check"}
    # a check rule some guardrail names, but not for this action, stays quiet here
    silenced = {r.expression for r in rails if r.kind == "check"} - set(named)
    me = Checkpoint.of(subject.doc, "")
    docs = {me.id: subject.doc}
    related: list[tuple[str, Checkpoint]] = []
    if subject.parent is not None:
        parent = Checkpoint.of(subject.parent, "")
        docs[parent.id] = subject.parent
        related.append(("parent", parent))
    found = {f.rule: f for f in checks.findings_for(me, docs, related, _all_on(settings),
                                                    dict(raw_config.get("metrics", {})
                                                         .get("goals") or {}))}
    outcomes = []
    for rule in CHECK_RULES:
        if rule in silenced:
            continue
        rail = named.get(rule)
        severity = rail.severity if rail else _as_guardrail(settings.rules.get(rule, "off"))
        if severity is None:
            continue
        finding = found.get(rule)
        rule_id = rail.id if rail else rule
        message = (rail.message if rail and rail.message else finding.message) if finding else ""
        outcomes.append(Outcome(rule_id, severity, "fail" if finding else "pass", message,
                                bool(rail and rail.pause), background=rail is None))
    return outcomes


def _as_guardrail(check_severity: str) -> str | None:
    """Unnamed check rules only warn at save: a noisy metric must not stop a training run
    unless the config says so with a ``check:`` guardrail."""
    return "warn" if check_severity in ("error", "warning") else None


def _all_on(settings: Any) -> Any:
    return replace(settings, rules={r: "error" for r in CHECK_RULES})


Judge = Callable[[Subject, str, str | None], Verdict]
