"""``git ckpt approve`` and ``git ckpt reject``: sign a request with your own SSH key.

The statement (request id, sha256 of the request's exact bytes, verdict, principal, time,
comment) is signed with ``ssh-keygen -Y sign -n ckpt-approval`` and committed with its detached
signature beside the request, on the branch checked out (the PR's branch). Your principal comes
from the protected branch's allowed_signers: a key it does not list for the stage is refused
here, and would not count anywhere else either.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ckptgit import workfiles
from ckptgit.atomic import write_atomic
from ckptgit.errors import ExternalError, UsageError
from ckptgit.governance import approvals, requests
from ckptgit.ops.propose import signing_key, statement_files, trusted
from ckptgit.repo import Repo

ATTEMPTS = 5


@dataclass(frozen=True)
class Signed:
    request: str
    verdict: str
    principal: str
    files: tuple[str, ...]
    commit: str
    counted: bool  # False: the proposer's own approval, which the stage does not count
    verdict_now: approvals.ApprovalVerdict

    def to_dict(self) -> dict[str, Any]:
        return {"request": self.request, "verdict": self.verdict, "principal": self.principal,
                "files": list(self.files), "commit": self.commit, "counted": self.counted,
                "approvals": self.verdict_now.to_dict()}


def approve(repo: Repo, arg: str | None, verdict: str = "approve", comment: str = "",
            key: str | None = None) -> Signed:
    if verdict not in ("approve", "reject"):
        raise UsageError(f"verdict must be approve or reject, not {verdict!r}")
    if verdict == "reject" and not comment.strip():
        raise UsageError("--comment must say why the request is rejected")
    git = repo.git
    head = git.head()
    if head is None:
        raise UsageError("no commit checked out: check out the proposal's branch first")
    _, tip, trust, _ = trusted(repo)
    rid = requests.find(git, head, arg, tip)
    request = requests.load_at(git, head, rid)
    if request is None:
        raise UsageError(f"request {rid} is not in HEAD")
    rule = trust.config.rule(request.stage)
    signer = signing_key(repo, key)
    principal = approvals.principal_of(approvals.public_key(signer, repo.root), trust.signers,
                                       rule.approvers)
    files = statement_files(signer, repo, request, verdict, principal, comment)
    commit = _commit(repo, files, f"ckpt: {verdict} request {rid} ({request.action} "
                                  f"{request.name} in {request.stage})\n\nCkpt-Request: {rid}\n")
    now = approvals.verify_request(request, requests.statements_at(git, commit, rid), rule,
                                   trust)
    counted = principal in now.approved_by or verdict == "reject"
    return Signed(rid, verdict, principal, tuple(files), commit, counted, now)


def _commit(repo: Repo, files: dict[str, bytes], message: str) -> str:
    """Commit ``files`` on the current branch from a private index; show them as committed."""
    git = repo.git
    for _ in range(ATTEMPTS):
        with workfiles.commit_lock(git):
            head = git.head()
            new, blobs = git.commit_files(head, files, message)
            if git.update_ref(git.head_ref(), new, head, message.splitlines()[0]):
                git.stage_blobs(blobs)
                for rel, data in files.items():
                    write_atomic(git.root / rel, data)
                return new
    raise ExternalError("the branch kept moving while the approval was committed: run again")
