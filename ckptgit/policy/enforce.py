"""Guardrails at a step: judge, record the outcome, pause, notify, refuse.

``save`` (CLI, Python API, Tracker, callbacks) calls ``before_save`` and ``after_save``;
``promote`` calls ``judge_promotion``; the hooks call ``hooks.problems``; ``policy check`` calls
``judge``. Every one of them evaluates with ``guardrails.evaluate`` and records the outcome in
``refs/ckpt/policy-log``, refusals included.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ckptgit import sidecar, storage
from ckptgit.errors import PolicyError, RunPaused, UsageError
from ckptgit.model import Checkpoint, Sidecar
from ckptgit.policy import notify, records, runs
from ckptgit.policy.settings import Policy
from ckptgit.repo import Repo

if TYPE_CHECKING:
    # The rules and the check machinery under them (~20 ms to import) load when a save is
    # judged: by then its bytes are hashing on another thread, so the import costs no time.
    from ckptgit.policy.guardrails import Outcome, Subject, Verdict

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Overrides:
    """``--override RULE … --rationale TEXT``: the rules a person accepted, and why."""

    rules: tuple[str, ...] = ()
    rationale: str | None = None

    def check(self, policy: Policy) -> dict[str, str]:
        if not self.rules:
            return {}
        if not (self.rationale or "").strip():
            raise UsageError("--override needs --rationale TEXT: say why the rule does not "
                             "hold for this checkpoint")
        from ckptgit.policy.guardrails import CHECK_RULES

        rationale = trailer_text(str(self.rationale), "--rationale")
        known = {g.id for g in policy.guardrails} | set(CHECK_RULES)
        for rule in self.rules:
            if rule not in known:
                raise UsageError(f"--override {rule}: no such guardrail (configured: "
                                 f"{', '.join(sorted(known))})")
        return {rule: rationale for rule in self.rules}


def trailer_text(value: str, what: str) -> str:
    """Text that becomes a trailer: one line, also by Unicode's line separators, which one
    trailer parser splits on and another does not."""
    from ckptgit.governance.trailers import check_value

    if any(sep in value for sep in ("\u2028", "\u2029", "\x85")):
        raise UsageError(f"{what} must be one line (no Unicode line separators)")
    return check_value(what, value)


def policy_of(repo: Repo, compile_now: bool = True) -> Policy:
    from ckptgit.policy import settings

    return settings.load(repo.root, compile_now)


def subject(repo: Repo, policy: Policy, doc: Sidecar,
            parent: Checkpoint | None) -> Subject:
    from ckptgit.policy.guardrails import Subject

    parent_doc = sidecar.load_saved(repo.git, [parent])[0] if parent is not None else None
    remote = (storage.remote_settings(repo.root)
              if _reads_remote(policy) else {})
    return Subject(doc, parent_doc, remote)


def _reads_remote(policy: Policy) -> bool:
    from ckptgit.policy.guardrails import needs_remote

    return needs_remote(policy.guardrails)


def refuse_if_paused(repo: Repo, name: str) -> None:
    pause = runs.paused(repo.git, name)
    if pause is None:
        return
    from ckptgit.policy.guardrails import Verdict

    log_outcome(repo, "save", name, None, Verdict(), refused=True, paused_by=pause.rule)
    raise RunPaused(f"saves of {name!r} are paused since {pause.when} by rule {pause.rule!r} "
                    f"({pause.reason}); look at the run, then 'git ckpt resume {name} "
                    "--rationale TEXT'", name, pause.rule)


def before_save(repo: Repo, policy: Policy, doc: dict[str, Any], parent: Checkpoint | None,
                overrides: Overrides) -> Verdict:
    """The verdict on a save about to be committed; a blocking one is refused (exit 4) after
    it is recorded, and pauses the name when its rule says so."""
    from ckptgit.policy import settings
    from ckptgit.policy.guardrails import evaluate

    settings.compile_all(policy)
    accepted = overrides.check(policy)
    # the document a save is still building: the value of it as it stands, judged
    value = sidecar.value_of(doc, f"the sidecar of {doc.get('name')}")
    verdict = evaluate(policy.guardrails, subject(repo, policy, value, parent), "save",
                       raw_config=repo.config.raw, overrides=accepted)
    if verdict.blocking:
        _refuse(repo, policy, doc, verdict)
    _annotate(doc, verdict)
    for o in verdict.warnings:
        log.warning("guardrail %s: %s", o.rule, o.message)
    return verdict


def _refuse(repo: Repo, policy: Policy, doc: Mapping[str, Any], verdict: Verdict) -> None:
    name = str(doc["name"])
    first = verdict.blocking[0]
    pause = _pause(repo, policy, name, None, verdict)
    log_outcome(repo, "save", name, None, verdict, refused=True,
                paused_by=pause.rule if pause else None)
    _notify(repo, policy, "refused", name, verdict.blocking)
    more = f" (+{len(verdict.blocking) - 1} more)" if len(verdict.blocking) > 1 else ""
    text = (f"guardrail {first.rule!r} refuses this save of {name!r}: {first.message}{more}; "
            f"fix it, or accept it with --override {first.rule} --rationale TEXT")
    if pause is not None:
        raise RunPaused(text + f"; saves of {name!r} are now paused", name, first.rule)
    raise PolicyError(text)


def after_save(repo: Repo, verdict: Verdict, ckpt: Checkpoint,
               who: str | None = None) -> runs.RunEvent | None:
    """Record the outcome of a save that landed; pause the name if a rule says so. ``who``:
    the identity the save already read (one git process fewer), else read here."""
    policy = policy_of(repo) if verdict.pausing else None
    pause = _pause(repo, policy, ckpt.name, ckpt.id, verdict) if policy else None
    if pause is not None:
        log.warning("saves of %s are now paused by guardrail %s (%s): 'git ckpt resume %s "
                    "--rationale TEXT' once it is looked at", ckpt.name, pause.rule,
                    pause.reason, ckpt.name)
    if verdict.outcomes:
        log_outcome(repo, "save", ckpt.name, ckpt.id, verdict, refused=False,
                    paused_by=pause.rule if pause else None, who=who)
    return pause


def _pause(repo: Repo, policy: Policy | None, name: str, ckpt_id: str | None,
           verdict: Verdict) -> runs.RunEvent | None:
    if not verdict.pausing or policy is None:
        return None
    rule = verdict.pausing[0]
    event = runs.record(repo.git, runs.RunEvent(
        "pause", name, records.now(), repo.git.identity() or "", rule.rule, rule.message,
        ckpt_id or ""))
    _notify(repo, policy, "paused", name, verdict.pausing)
    return event


def _notify(repo: Repo, policy: Policy, event: str, name: str,
            outcomes: Sequence[Outcome]) -> None:
    if policy.notify.command or policy.notify.webhook:
        notify.send(policy.notify, {"event": event, "name": name,
                                    "rules": [o.rule for o in outcomes],
                                    "message": "; ".join(o.message for o in outcomes),
                                    "outcomes": [o.to_dict() for o in outcomes]}, repo.root)


def _annotate(doc: dict[str, Any], verdict: Verdict) -> None:
    """Warnings and overrides go into the sidecar (and from there into the trailers)."""
    section: dict[str, Any] = {}
    if verdict.warnings:
        section["warnings"] = [{"rule": o.rule, "message": o.message} for o in verdict.warnings]
    if verdict.overridden:
        section["overrides"] = [{"rule": o.rule, "rationale": o.override, "message": o.message}
                                for o in verdict.overridden]
    if section:
        doc["policy"] = section


def trailers(doc: Mapping[str, Any]) -> list[str]:
    section = doc.get("policy") or {}
    lines = [f"Policy-Warning: {w['rule']}" for w in section.get("warnings") or []]
    overrides = section.get("overrides") or []
    lines += [f"Policy-Override: {o['rule']}" for o in overrides]
    if overrides:
        lines.append(f"Rationale: {overrides[0]['rationale']}")
    return lines


def log_outcome(repo: Repo, action: str, name: str, ckpt_id: str | None, verdict: Verdict,
                refused: bool, paused_by: str | None = None, stage: str | None = None,
                who: str | None = None) -> None:
    # passes are counted, not listed: the log grows by what fired
    who = who if who is not None else repo.git.identity() or ""
    body = {"action": action, "name": name, "id": ckpt_id, "stage": stage, "refused": refused,
            "paused_by": paused_by, "when": records.now(), "who": who,
            "evaluated": len(verdict.outcomes),
            "outcomes": [o.to_dict() for o in verdict.outcomes if o.result != "pass"]}
    fired = [o.rule for o in verdict.fired]
    verb = "refused" if refused else "recorded"
    records.append(repo.git, records.LOG_REF, f"policy: {action} {name} {verb}", body,
                   {"Policy-Fired": fired} if fired else None)


def judge_promotion(repo: Repo, ckpt: Checkpoint, stage: str, doc: Sidecar) -> Verdict:
    """Guardrails for promoting ``ckpt`` into ``stage``; refused (exit 4) when one blocks."""
    from ckptgit.policy.guardrails import Verdict, evaluate

    policy = policy_of(repo)
    rails = [g for g in policy.guardrails if g.applies("promote", stage)]
    if not rails:
        return Verdict()
    verdict = evaluate(rails, subject(repo, policy, doc, None), "promote", stage,
                       repo.config.raw)
    log_outcome(repo, "promote", ckpt.name, ckpt.id, verdict, refused=bool(verdict.blocking),
                stage=stage)
    if verdict.blocking:
        _notify(repo, policy, "refused", ckpt.name, verdict.blocking)
        first = verdict.blocking[0]
        raise PolicyError(f"guardrail {first.rule!r} refuses promoting {ckpt.short_id} "
                          f"({ckpt.name}) to {stage}: {first.message}")
    return verdict
