"""``git ckpt ratify TAG``: sign the ratification of a responder's emergency revert.

An emergency revert (``git ckpt revert --emergency``) went ahead without approvals; it stays
flagged until approvers sign it afterwards, within the stage's ``ratify_within`` window. The
ratification is a request like any other (``.ckpt/requests/ratify-<tag object>/``), whose bytes
follow from the tag alone, so every ratifier writes the same file; each adds their own signed
statement beside it, on the branch checked out, to merge into the protected branch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ckptgit.errors import IntegrityError, UsageError
from ckptgit.governance import approvals, requests
from ckptgit.governance import trailers as tr
from ckptgit.ops.approve import _commit
from ckptgit.ops.propose import signing_key, statement_files, trusted
from ckptgit.repo import Repo


@dataclass(frozen=True)
class Ratified:
    tag: str
    request: str
    principal: str
    commit: str
    verdict_now: approvals.ApprovalVerdict

    def to_dict(self) -> dict[str, Any]:
        return {"tag": self.tag, "request": self.request, "principal": self.principal,
                "commit": self.commit, "approvals": self.verdict_now.to_dict()}


def request_bytes(repo: Repo, tag: str) -> bytes:
    """The ratification request of emergency tag ``tag``: the same bytes for everyone."""
    records = repo.git.tag_records([f"refs/tags/{tag}"])
    rec = next((r for r in records if r.name == tag), None)
    if rec is None or not rec.annotated:
        raise UsageError(f"no annotated tag {tag}")
    t = tr.parse(rec.body)
    if t.get(tr.EMERGENCY) != "true":
        raise UsageError(f"{tag} is not an emergency revert: nothing to ratify")
    seal = (t.get(tr.SEAL) or "").removeprefix("sha256:")
    return requests.render({
        "id": requests.ratify_id(rec.object), "action": "ratify",
        "name": t.get(tr.NAME) or tag.split("#")[0], "stage": t.get(tr.STAGE) or "",
        "rationale": f"ratify emergency revert {tag}: {t.get(tr.RATIONALE) or ''}".strip(),
        "proposer": t.get(tr.SIGNED_BY) or "", "created_at": rec.created_at, "base": "",
        "candidate": {"id": t.get(tr.ID), "commit": rec.target, "seal": seal,
                      "path": ""} if seal else None,
        "reverts": t.get(tr.REVERTS), "tag": {"name": tag, "object": rec.object},
        "gates": {}, "check": {}})


def ratify(repo: Repo, tag: str, comment: str = "", key: str | None = None) -> Ratified:
    _, _, trust, _ = trusted(repo)
    raw = request_bytes(repo, tag)
    req = requests.parse(raw)
    head = repo.git.head()
    present = repo.git.show_file(head, req.path) if head else None
    if present is not None and present != raw:
        raise IntegrityError(f"{req.path} in HEAD differs from the ratification of {tag}: "
                             "it was edited; restore it from the tag ('git rm' it and rerun)")
    rule = trust.config.rule(req.stage)
    signer = signing_key(repo, key)
    principal = approvals.principal_of(approvals.public_key(signer, repo.root), trust.signers,
                                       rule.approvers)
    files = {req.path: raw, **statement_files(signer, repo, req, "approve", principal, comment)}
    commit = _commit(repo, files, f"ckpt: ratify emergency revert {tag}\n\n"
                                  f"Ckpt-Request: {req.id}\n")
    now = approvals.verify_request(req, requests.statements_at(repo.git, commit, req.id), rule,
                                   trust, proposer_signed=False)
    return Ratified(tag, req.id, principal, commit, now)
