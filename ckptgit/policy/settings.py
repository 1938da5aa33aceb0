"""The ``guardrails:``, ``notify:`` and ``retention:`` sections of ``.ckpt/config.yaml``.

Checked against ``schemas/policy-v1.json``; every error names the line it is on, and an invalid
CEL expression also names the rule and the column (docs/policy.md).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from ckptgit import yamlsafe
from ckptgit.config import CONFIG_MAX_BYTES, CONFIG_PATH
from ckptgit.errors import UsageError

ACTIONS = ("save", "push", "promote")
SECTIONS = ("guardrails", "notify", "retention")


@dataclass(frozen=True)
class Guardrail:
    """One rule: ``forbid`` (fires when true), ``require`` (fires when false) or a built-in
    ``check`` rule; where it applies (``save``, ``push``, ``promote``, ``promote:STAGE``)."""

    id: str
    kind: str  # forbid | require | check
    expression: str  # the CEL text, or the check rule's id
    severity: str = "error"  # warn | error
    message: str = ""
    on: tuple[str, ...] = ACTIONS
    pause: bool = False

    def applies(self, action: str, stage: str | None = None) -> bool:
        if action in self.on:
            return True
        return action == "promote" and stage is not None and f"promote:{stage}" in self.on

    def describe(self) -> str:
        return f"{self.kind}: {self.expression}"


@dataclass(frozen=True)
class Notify:
    command: str | None = None
    webhook: str | None = None
    timeout: float = 10.0


@dataclass(frozen=True)
class Retention:
    keep_last: int | None = None
    keep_best_metric: str | None = None
    keep_best_count: int = 0
    keep_best_goal: str | None = None  # None: the config's metrics.goals, else max
    keep_younger_than_days: float | None = None
    keep_labels: tuple[str, ...] = ("keep",)
    max_age_days: dict[str, float] = field(default_factory=dict)
    configured: bool = False


@dataclass(frozen=True)
class Policy:
    guardrails: tuple[Guardrail, ...] = ()
    notify: Notify = field(default_factory=Notify)
    retention: Retention = field(default_factory=Retention)
    source: bytes | str = b""  # the config text, for the line of a late error
    what: str = CONFIG_PATH

    def rule(self, rule_id: str) -> Guardrail | None:
        return next((g for g in self.guardrails if g.id == rule_id), None)


def parse(text: bytes | str, data: dict[str, Any], what: str = CONFIG_PATH,
          compile_now: bool = True) -> Policy:
    """The policy of a config whose YAML ``text`` parsed to ``data``; ``compile_now=False``
    leaves compiling the expressions to ``compile_all`` (save does it while bytes hash)."""
    section = {k: data[k] for k in SECTIONS if data.get(k) is not None}
    if not section:
        return Policy()
    if section == {"guardrails": []}:  # the config 'init' writes: nothing to validate
        return Policy(source=text, what=what)
    if isinstance(section.get("guardrails"), list):
        section["guardrails"] = [_yaml11_on(item) for item in section["guardrails"]]
    problem = _schema_problem(section)
    if problem is not None:
        path, message = problem
        raise UsageError(f"{_where(text, what, path)}: {'.'.join(map(str, path))}: {message}")
    rails = tuple(_guardrail(item) for item in section.get("guardrails") or [])
    seen: set[str] = set()
    for pos, rail in enumerate(rails):
        if rail.id in seen:
            raise UsageError(f"{_where(text, what, ['guardrails', pos])}: guardrail id "
                             f"{rail.id!r} is used twice")
        seen.add(rail.id)
    notify = section.get("notify") or {}
    policy = Policy(rails, Notify(notify.get("command"), notify.get("webhook"),
                                  float(notify.get("timeout", 10.0))),
                    _retention(text, what, section.get("retention")), text, what)
    if compile_now:
        compile_all(policy)
    return policy


def compile_all(policy: Policy) -> None:
    """Every CEL expression compiled; the first invalid one is an error with its rule, line
    and column."""
    for pos, rail in enumerate(policy.guardrails):
        if rail.kind != "check":
            _compile(rail, functools.partial(_where, policy.source, policy.what,
                                             ["guardrails", pos, rail.kind]))


def _yaml11_on(item: Any) -> Any:
    """YAML 1.1 reads a bare ``on:`` key as the boolean true; it means ``on`` here."""
    if isinstance(item, dict) and True in item and "on" not in item:
        item = dict(item)
        item["on"] = item.pop(True)
    return item


def _where(text: bytes | str, what: str, path: list[str | int]) -> str:
    line = yamlsafe.line_of(text, path)
    return f"{what} line {line}" if line else what


def _guardrail(item: dict[str, Any]) -> Guardrail:
    kind = next(k for k in ("forbid", "require", "check") if k in item)
    return Guardrail(id=item["id"], kind=kind, expression=str(item[kind]).strip(),
                     severity=item.get("severity", "error"), message=item.get("message", ""),
                     on=tuple(item.get("on") or ACTIONS), pause=bool(item.get("pause", False)))


def _compile(rail: Guardrail, where: Callable[[], str]) -> None:
    from ckptgit import expressions

    try:
        expressions.check(rail.expression, compiled=True)
    except expressions.ExpressionError as exc:
        raise UsageError(f"{where()}: guardrail {rail.id!r}: {exc}") from exc


def load(root: Path, compile_now: bool = True) -> Policy:
    """The work tree's policy (``.ckpt/config.yaml``); an empty one when there is no file."""
    path = root / CONFIG_PATH
    if not path.is_file():
        return Policy()
    return from_text(path.read_bytes(), compile_now=compile_now)


def from_text(text: bytes | str, what: str = CONFIG_PATH, compile_now: bool = True) -> Policy:
    from ckptgit import sidecar

    data = sidecar.parse_yaml(text, what, CONFIG_MAX_BYTES) or {}
    if not isinstance(data, dict):
        raise UsageError(f"{what} must be a mapping")
    return parse(text, data, what, compile_now)


def _retention(text: bytes | str, what: str, data: dict[str, Any] | None) -> Retention:
    if data is None:
        return Retention()
    best = data.get("keep_best") or {}
    keep_labels = tuple(data.get("keep_labels", ["keep"]))
    max_age = {str(k): float(v) for k, v in (data.get("max_age_days") or {}).items()}
    if data.get("keep_stages") is False:
        raise UsageError(f"{_where(text, what, ['retention', 'keep_stages'])}: "
                         "retention.keep_stages: false contradicts the promise that prune never "
                         "removes what a stage ever held; remove the line")
    both = sorted(set(keep_labels) & set(max_age))
    if both:
        raise UsageError(f"{_where(text, what, ['retention', 'max_age_days', both[0]])}: "
                         f"retention: label {both[0]!r} is in keep_labels (keep forever) and in "
                         "max_age_days (prune when old); keep one of the two")
    return Retention(keep_last=data.get("keep_last"), keep_best_metric=best.get("metric"),
                     keep_best_count=int(best.get("count", 0)), keep_best_goal=best.get("goal"),
                     keep_younger_than_days=data.get("keep_younger_than_days"),
                     keep_labels=keep_labels, max_age_days=max_age, configured=True)


@functools.cache
def _schema() -> dict[str, Any]:
    text = resources.files("ckptgit").joinpath("schemas/policy-v1.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


def _schema_problem(section: dict[str, Any]) -> tuple[list[str | int], str] | None:
    """The first schema violation (path, message), or None. The compiled validator answers
    "valid?" quickly at every save; jsonschema explains what is wrong."""
    import jsonschema_rs

    try:
        if jsonschema_rs.Draft202012Validator(_schema()).is_valid(section):
            return None
    except ValueError:
        pass
    from jsonschema import Draft202012Validator

    errors = sorted(Draft202012Validator(_schema()).iter_errors(section),
                    key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    if not errors:
        return None
    best = max(errors, key=lambda e: len(e.absolute_path))
    return list(best.absolute_path), _message(best)


def _message(error: Any) -> str:
    if error.validator == "oneOf":
        return "give exactly one of forbid, require or check"
    return str(error.message)
