"""The policy, pure: (state, request) -> decision. No git, no files, no clock.

Every rule of ``.ckpt/config.yaml`` that can refuse a promotion, revert, unassignment or
lock is here, so
it can be read (and tested) in one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ckptgit.config import Config, StageRule
from ckptgit.errors import PolicyError, UsageError


@dataclass(frozen=True)
class Request:
    action: str  # promote | revert | unassign | lock | unlock
    stage: str
    rationale: str
    approvers: tuple[str, ...] = ()
    name: str | None = None
    commit: str | None = None
    override: bool = False  # act on a locked stage (the rationale says why)
    # direct (--approved-by), request (signed approvals, verified by governance/approvals.py)
    # or emergency (a responder's break-glass revert, ratified afterwards)
    via: str = "direct"


@dataclass(frozen=True)
class State:
    """What the tags say, as far as the request is concerned."""

    holder_commit: str | None = None  # who holds (name, stage) now
    held_previous: bool = False  # the stage before has held this commit at some point
    locked_by: str | None = None  # the lock tag when the stage is locked
    deprecated_by: str | None = None  # the deprecation tag when the name is deprecated


@dataclass(frozen=True)
class Decision:
    rule: StageRule
    usage: tuple[str, ...] = ()  # bad input: exit 2
    refusals: tuple[str, ...] = ()  # refused by policy: exit 4
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def allowed(self) -> bool:
        return not self.usage and not self.refusals

    def raise_if_refused(self) -> None:
        if self.usage:
            raise UsageError(self.usage[0])
        if self.refusals:
            more = f" (+{len(self.refusals) - 1} more)" if len(self.refusals) > 1 else ""
            raise PolicyError(self.refusals[0] + more)


def decide(config: Config, state: State, req: Request) -> Decision:
    """Whether ``req`` may go ahead; every reason when it may not."""
    if req.stage not in config.stages:
        return Decision(StageRule(req.stage), usage=(
            f"stage {req.stage!r} is not in .ckpt/config.yaml (stages: "
            f"{', '.join(config.stages)})",))
    rule = config.rule(req.stage)
    usage: list[str] = []
    refusals: list[str] = []
    notes: list[str] = []
    if not req.rationale.strip():
        usage.append("--rationale must say why (it is recorded in the signed tag)")
    if req.action in ("promote", "revert", "unassign"):
        _approvals(rule, req, refusals)
        _locked(state, req, refusals, notes)
    if req.action == "unassign" and state.holder_commit is None:
        usage.append(f"stage {req.stage} of {req.name} holds nothing: there is nothing to "
                     "unassign")
    if req.action == "promote":
        if state.deprecated_by and req.override:
            notes.append(f"overriding deprecation {state.deprecated_by}")
        elif state.deprecated_by:
            refusals.append(f"{req.name} is deprecated ({state.deprecated_by}): pass --override "
                            "with a rationale to promote it again")
        if state.holder_commit is not None and state.holder_commit == req.commit:
            usage.append(f"{req.name} already holds {req.stage} with this checkpoint")
        previous = config.previous_stage(req.stage)
        if rule.requires_previous and previous and not state.held_previous:
            refusals.append(f"{req.stage} requires that {previous} held this checkpoint first: "
                            f"run 'git ckpt promote … --stage {previous}' before")
    if req.action == "revert":
        if state.holder_commit is None:
            usage.append(f"stage {req.stage} of {req.name} holds nothing: there is nothing to "
                         "revert (use 'git ckpt promote')")
        elif state.holder_commit == req.commit:
            usage.append(f"{req.stage} already holds that checkpoint: nothing to revert")
    if req.action == "lock" and state.locked_by:
        usage.append(f"stage {req.stage} is already locked ({state.locked_by})")
    if req.action == "unlock" and not state.locked_by:
        usage.append(f"stage {req.stage} is not locked")
    return Decision(rule, tuple(usage), tuple(refusals), tuple(notes))


def _approvals(rule: StageRule, req: Request, refusals: list[str]) -> None:
    if req.via != "direct":
        return  # counted from verified signatures, or ratified afterwards
    if rule.approvals:
        fix = (f"'git ckpt propose REF --stage {rule.name} --rationale …'" if req.action ==
               "promote" else f"'git ckpt propose … --stage {rule.name} --{req.action}"
               f"{'-to REF' if req.action == 'revert' else ''} …'")
        refusals.append(f"{rule.name} accepts only signed approvals ({rule.approvals} "
                        f"required): propose it for review with {fix}"
                        + (", or 'git ckpt revert --emergency' if you are a responder"
                           if req.action == "revert" else ""))
        return
    distinct = {a.strip().lower() for a in req.approvers if a.strip()}
    if len(distinct) < rule.approvals:
        refusals.append(f"{rule.name} needs {rule.approvals} distinct approver(s), got "
                        f"{len(distinct)}: add --approved-by WHO")


def _locked(state: State, req: Request, refusals: list[str], notes: list[str]) -> None:
    if not state.locked_by:
        return
    if req.override:
        notes.append(f"overriding lock {state.locked_by}")
        return
    refusals.append(f"stage {req.stage} is locked ({state.locked_by}): 'git ckpt unlock "
                    f"{req.stage} --rationale …' first, or pass --override with a rationale")


def incompatibilities(serving: Mapping[str, str], recorded: Mapping[str, str]) -> list[str]:
    """Packages whose major version differs between the serving stack and a checkpoint's
    recorded environment (a package the checkpoint did not record is not judged)."""
    found = []
    for package, wanted in sorted(serving.items()):
        have = _lookup(recorded, package)
        if have is not None and _major(have) != _major(str(wanted)):
            found.append(f"{package} {have} (serving runs {wanted})")
    return found


def _lookup(packages: Mapping[str, str], name: str) -> str | None:
    norm = name.lower().replace("_", "-")
    for key, value in packages.items():
        if key.lower().replace("_", "-") == norm:
            return str(value)
    return None


def _major(version: str) -> str:
    head = version.strip().lstrip("v=<>~^ ").split(".")[0]
    return head or version
