"""``git ckpt deprecate``: retire a name by a signed ``NAME@deprecated#N`` tag (GTO's grammar).

The tag points at the name's latest save. From then on ``gto show`` hides the name, ``stages``
marks it, and ``promote`` refuses it unless ``--override`` (recorded in the new tag); as in
GTO, a later promotion brings the name back. Stages it holds keep serving until they are
unassigned or reverted: deprecation says "do not build on this", not "stop serving now".
"""

from __future__ import annotations

from dataclasses import dataclass

from ckptgit import tags
from ckptgit.errors import UsageError
from ckptgit.governance import tagevents, tagsigning
from ckptgit.governance import trailers as tr
from ckptgit.ops.promote import Outcome, make_tag
from ckptgit.repo import Repo


@dataclass(frozen=True)
class DeprecateRequest:
    name: str
    rationale: str
    approvers: tuple[str, ...] = ()


def deprecate(repo: Repo, req: DeprecateRequest) -> Outcome:
    git = repo.git
    if not req.rationale.strip():
        raise UsageError("--rationale must say why (it is recorded in the signed tag)")
    rationale = tr.check_value(tr.RATIONALE, req.rationale)
    approvers = tuple(tr.check_value(tr.APPROVED_BY, a) for a in req.approvers)
    latest = [c for c in repo.checkpoints() if c.name == req.name]
    if not latest:
        raise UsageError(f"no checkpoint is named {req.name!r}: nothing to deprecate")
    ckpt = repo.resolve(req.name)
    events, _ = tagevents.read(git, req.name)
    already = tagevents.deprecated(events).get(req.name)
    if already is not None:
        raise UsageError(f"{req.name} is already deprecated ({already.tag})")
    tagsigning.preflight(git)
    trust = tagsigning.repo_trust(repo.root)
    signer = tagsigning.signer_principal(git, trust[0], ())
    pairs = tr.build([(tr.ACTION, "deprecate"), (tr.ID, ckpt.id), (tr.NAME, ckpt.name),
                      (tr.SEAL, f"sha256:{ckpt.sha256}"), (tr.RATIONALE, rationale),
                      *((tr.APPROVED_BY, a) for a in approvers), (tr.SIGNED_BY, signer or None)])
    tag = make_tag(repo, ckpt, "", f"deprecate {ckpt.name}", pairs, trust, (),
                   naming=lambda name, _stage, number: tags.deprecation(name, number))
    return Outcome(tag, "deprecate", ckpt.name, "", ckpt.id, ckpt.commit)
