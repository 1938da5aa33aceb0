"""``git ckpt lock`` / ``unlock``: freeze a stage, as signed tags like every other decision.

``ckpt/lock/STAGE/N`` and ``ckpt/unlock/STAGE/N`` (N counted per stage) point at the branch
head when the decision was made; the highest N says whether the stage is locked now.
"""

from __future__ import annotations

from ckptgit import tags
from ckptgit.errors import UsageError
from ckptgit.governance import policy, tagevents, tagsigning, trustroot
from ckptgit.governance import trailers as tr
from ckptgit.repo import Repo


def set_lock(repo: Repo, stage: str, kind: str, rationale: str) -> str:
    """Lock (``kind="lock"``) or unlock a stage; returns the tag made."""
    git = repo.git
    cfg = trustroot.rules(git, repo.config)  # the trusted revision's, not the work tree's
    rationale = tr.check_value(tr.RATIONALE, rationale) if rationale.strip() else ""
    locks = tagevents.read_locks(git)
    held = tagevents.locked(locks).get(stage)
    decision = policy.decide(cfg, policy.State(locked_by=held.tag if held else None),
                             policy.Request(kind, stage, rationale))
    decision.raise_if_refused()
    head = git.head()
    if head is None:
        raise UsageError("the branch has no commit to hang the lock tag on")
    tagsigning.preflight(git)
    trust = tagsigning.repo_trust(repo.root)
    signer = tagsigning.signer_principal(git, trust[0], decision.rule.signers)
    pairs = tr.build([(tr.ACTION, kind), (tr.STAGE, stage), (tr.RATIONALE, rationale),
                      (tr.SIGNED_BY, signer or None)])

    def next_name() -> tuple[str, int]:
        records = git.tag_records([f"refs/tags/{tags.LOCK_PREFIX}"])
        number = tags.next_lock_number([r.name for r in records], stage)
        floor = max((r.created_at for r in records), default=-1) + 1
        return tags.lock(kind, stage, number), floor

    return tagsigning.create(git, next_name, head, tr.message(f"{kind} stage {stage}", pairs),
                          trust[0], trust[1], [signer] if signer else decision.rule.signers)
