"""``git ckpt revert``: a NEW signed assignment tag on a known-good checkpoint.

Nothing is moved or deleted: the stage's history keeps the bad promotion and this revert,
with ``Reverts:`` naming the tag replaced and ``Impact-Window:`` the time it served. Before
the tag: policy, serving-stack compatibility, and a rehearsal (a sandbox worktree for protected
stages) that rehydrates and seals the bytes and runs the gates. After it: the verified bytes
go into the work tree and the stage's manifest (with the sandbox report) is committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from ckptgit.config import StageRule
from ckptgit.errors import PolicyError, UsageError
from ckptgit.governance import (
    artifacts,
    manifest,
    policy,
    sandbox,
    tagevents,
    tagsigning,
    trustroot,
)
from ckptgit.governance import trailers as tr
from ckptgit.model import Sidecar
from ckptgit.ops.promote import Outcome, base_trailers, make_tag, write_manifest
from ckptgit.repo import Repo


@dataclass(frozen=True)
class RevertRequest:
    name: str
    stage: str
    to: str
    rationale: str
    approvers: tuple[str, ...] = ()
    impact_window: str | None = None
    sandbox: bool | None = None  # None: on for protected stages
    override: bool = False  # a locked stage
    force: bool = False  # an incompatible serving stack, or unsaved bytes in the work tree
    restore: bool = True
    emergency: bool = False  # a responder's break glass: no approvals now, ratified later
    via: str = "direct"
    extra: tuple[tuple[str, str], ...] = ()


def revert(repo: Repo, req: RevertRequest) -> Outcome:
    git = repo.git
    cfg = trustroot.rules(git, repo.config)  # the trusted revision's, not the work tree's
    rationale = tr.check_value(tr.RATIONALE, req.rationale) if req.rationale.strip() else ""
    approvers = tuple(tr.check_value(tr.APPROVED_BY, a) for a in req.approvers)
    window = tr.check_window(req.impact_window) if req.impact_window else None
    target = repo.resolve(req.to)
    if target.name != req.name:
        raise UsageError(f"--to {req.to} is a checkpoint of {target.name!r}, not {req.name!r}")
    view = tagevents.stage_view(git, req.name, req.stage)
    events, holder, lock = view.events, view.holder, view.lock
    state = policy.State(holder_commit=holder.commit if holder else None,
                         locked_by=lock.tag if lock else None)
    decision = policy.decide(cfg, state, policy.Request(
        "revert", req.stage, rationale, approvers, req.name, target.commit, req.override,
        "emergency" if req.emergency else req.via))
    decision.raise_if_refused()
    if holder is None:  # decide() has refused already; this keeps the type checker informed
        raise UsageError(f"stage {req.stage} of {req.name} holds nothing")
    rule = decision.rule
    tagsigning.preflight(git)
    trust = tagsigning.repo_trust(repo.root)
    signer = tagsigning.signer_principal(git, trust[0], rule.signers)
    if req.emergency:
        _check_responder(rule, signer)
    doc = artifacts.read_sidecar(repo, target)
    _check_serving(repo, req, doc)
    parts = artifacts.pieces(target, doc)
    if req.restore and not req.force:
        artifacts.refuse_unsaved(repo, parts, _seals(repo, events))
    use_worktree = rule.protected if req.sandbox is None else req.sandbox
    window = window or f"{_iso(holder.created_at)}/{_iso(git.committer_time())}"
    with sandbox.rehearse(repo, target, doc, req.stage, rule.gates,
                          worktree=use_worktree) as rehearsal:
        if not rehearsal.passed:
            failed = next(r for r in rehearsal.results if not r.passed)
            where = "in the sandbox" if use_worktree else "before the revert"
            raise PolicyError(f"gate failed {where}: {failed.gate}: {failed.detail}; nothing "
                              "was tagged and your work tree is untouched")
        pairs = base_trailers("revert", target, doc, req.stage, rationale, approvers,
                              lock.tag if (lock and req.override) else None, signer)
        pairs += [(tr.REVERTS, holder.tag), (tr.IMPACT_WINDOW, window),
                  (tr.SANDBOX_REPORT, f"sha256:{rehearsal.digest}" if use_worktree else None)]
        if req.force:
            pairs.append((tr.OVERRIDE, "force: serving stack or unsaved work tree"))
        pairs[-1:-1] = [*req.extra, *([(tr.EMERGENCY, "true")] if req.emergency else [])]
        tag = make_tag(repo, target, req.stage, f"revert {req.name} {req.stage} to "
                       f"{target.short_id} (replacing {holder.tag})", tr.build(pairs), trust,
                       rule.signers)
        if req.restore:
            artifacts.install(repo, rehearsal.staged)
        report = {rehearsal.report_path: rehearsal.report_bytes()} if use_worktree else None
    out = Outcome(tag, "revert", req.name, req.stage, target.id, target.commit,
                  reverts=holder.tag, gates=rehearsal.results,
                  sandbox_report=rehearsal.digest if use_worktree else None)
    write_manifest(repo, out, target, doc, report)
    return out


def _check_responder(rule: StageRule, signer: str) -> None:
    if not rule.responders or signer not in rule.responders:
        who = ", ".join(rule.responders) or "nobody (no responders: in .ckpt/config.yaml)"
        raise PolicyError(f"only a responder of {rule.name} may revert it in an emergency "
                          f"(responders: {who}); you sign as {signer or 'an unknown key'}: "
                          "propose it instead ('git ckpt propose … --revert-to REF')")


def _check_serving(repo: Repo, req: RevertRequest, doc: Sidecar) -> None:
    rel = manifest.path_for(repo.config.governance.manifest_dir, req.stage)
    serving = manifest.serving_packages(manifest.read(repo.git, repo.git.head(), rel))
    recorded = doc.environment.get("packages") if isinstance(doc.environment, dict) else None
    clashes = policy.incompatibilities(serving, recorded or {})
    if clashes and not req.force:
        raise PolicyError(f"the target was trained with {'; '.join(clashes)}, a different major "
                          f"version than {rel} declares: pass --force (the rationale says why) "
                          "to revert anyway")


def _seals(repo: Repo, events: list[tagevents.Event]) -> set[str]:
    """Seals of every saved checkpoint and of every companion a stage tag has recorded."""
    seals = artifacts.known_seals(repo)
    for ev in events:
        for value in ev.trailers.all(tr.COMPANION):
            seals.add(value.rpartition("sha256:")[2])
    return seals


def _iso(when: int | None) -> str:
    moment = datetime.fromtimestamp(when, UTC) if when is not None else datetime.now(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
