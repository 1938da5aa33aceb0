"""``git ckpt unassign``: a stage stops serving a name, by a NEW signed ``NAME#STAGE!#N`` tag.

GTO's own unassignment: the tag points at the checkpoint that held the stage, and its higher
counter clears the stage in ``git ckpt stages`` and ``gto show`` alike. The same policy as a
promotion into that stage applies (approvals, signers, locks); nothing is moved or deleted,
and the stage's deployment manifest drops the name in one commit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ckptgit import tags
from ckptgit.errors import UsageError
from ckptgit.governance import artifacts, policy, tagevents, tagsigning, trustroot
from ckptgit.governance import trailers as tr
from ckptgit.ops.promote import Outcome, base_trailers, make_tag, write_manifest
from ckptgit.repo import Repo

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class UnassignRequest:
    name: str
    stage: str
    rationale: str
    approvers: tuple[str, ...] = ()
    override: bool = False  # a locked stage
    via: str = "direct"
    extra: tuple[tuple[str, str], ...] = ()


def unassign(repo: Repo, req: UnassignRequest) -> Outcome:
    git = repo.git
    cfg = trustroot.rules(git, repo.config)  # the trusted revision's, not the work tree's
    rationale = tr.check_value(tr.RATIONALE, req.rationale) if req.rationale.strip() else ""
    approvers = tuple(tr.check_value(tr.APPROVED_BY, a) for a in req.approvers)
    view = tagevents.stage_view(git, req.name, req.stage)
    events, holder, lock = view.events, view.holder, view.lock
    state = policy.State(holder_commit=holder.commit if holder else None,
                         locked_by=lock.tag if lock else None)
    decision = policy.decide(cfg, state, policy.Request(
        "unassign", req.stage, rationale, approvers, req.name, None, req.override, req.via))
    decision.raise_if_refused()
    if holder is None:  # decide() has refused already; this keeps the type checker informed
        raise UsageError(f"stage {req.stage} of {req.name} holds nothing")
    ckpt = repo.resolve(holder.trailers.get(tr.ID) or holder.commit)
    if not any(e.kind == "register" and e.commit == ckpt.commit for e in events):
        log.warning("gto show will still list %s for %s: GTO applies an unassignment only to a "
                    "registered version (promote with --version); git ckpt stages does not",
                    req.stage, req.name)
    rule = decision.rule
    tagsigning.preflight(git)
    trust = tagsigning.repo_trust(repo.root)
    signer = tagsigning.signer_principal(git, trust[0], rule.signers)
    doc = artifacts.read_sidecar(repo, ckpt)
    pairs = base_trailers("unassign", ckpt, doc, req.stage, rationale, approvers,
                          lock.tag if (lock and req.override) else None, signer)
    pairs[-1:-1] = list(req.extra)
    tag = make_tag(repo, ckpt, req.stage,
                   f"unassign {req.stage} from {ckpt.name} {ckpt.short_id}", tr.build(pairs),
                   trust, rule.signers, naming=tags.unassignment)
    out = Outcome(tag, "unassign", ckpt.name, req.stage, ckpt.id, ckpt.commit, ends=holder.tag)
    write_manifest(repo, out, ckpt, doc)
    return out
