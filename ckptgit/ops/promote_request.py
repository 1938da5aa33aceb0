"""``git ckpt promote --request ID``: carry out a merged, approved request.

The request must be on the protected branch (as fetched): a PR closed unmerged, or a branch
never merged, is refused. Every signed statement beside it is verified again against the trust
root replayed at that branch's tip (governance/trustroot: only admin-signed changes count; never
the work tree's), the gates run again, and the signed tag records ``Ckpt-Request``, the branch
commit the approvals were verified at (``Ckpt-Request-Commit``) and one ``Approved-By`` per
verified approval, so every reader can check them again offline.
"""

from __future__ import annotations

from ckptgit.errors import IntegrityError, PolicyError, UsageError
from ckptgit.governance import approvals, requests, tagevents
from ckptgit.governance import trailers as tr
from ckptgit.ops.promote import Outcome, PromoteRequest, promote
from ckptgit.ops.propose import trusted
from ckptgit.ops.revert import RevertRequest, revert
from ckptgit.ops.unassign import UnassignRequest, unassign
from ckptgit.repo import Repo


def promote_request(repo: Repo, arg: str, version: str | None = None) -> Outcome:
    git = repo.git
    branch, tip, trust, judged = trusted(repo)
    rid = _merged(repo, tip, branch, arg)
    loaded = approvals.load(git, tip, rid)
    request = loaded.request
    if request.action == "ratify" or request.candidate is None:
        raise UsageError(f"request {rid} ratifies an emergency tag: it needs no promotion")
    done = _already(repo, request.name, rid)
    if done:
        raise UsageError(f"request {rid} was carried out already: {done}")
    rule = trust.config.rule(request.stage)
    verdict = approvals.verify_request(request, loaded.files, rule, trust,
                                       git.committer_time())
    if not verdict.ok:
        raise PolicyError(f"request {rid} may not go ahead: {'; '.join(verdict.reasons())}")
    ckpt = repo.resolve(request.candidate.id)
    if (ckpt.commit, ckpt.sha256) != (request.candidate.commit, request.candidate.seal):
        raise IntegrityError(f"request {rid} names checkpoint {request.candidate.id[:8]} at "
                             f"{request.candidate.commit[:12]} with another seal than the "
                             "saved one")
    extra = ((tr.REQUEST, rid), (tr.REQUEST_COMMIT, tip))
    who = verdict.approved_by
    if request.action == "promote":
        return promote(judged, PromoteRequest(ckpt.id, request.stage, request.rationale, who,
                                              version, via="request", extra=extra))
    if request.action == "revert":
        return revert(judged, RevertRequest(request.name, request.stage, ckpt.id,
                                            request.rationale, who, via="request",
                                            extra=extra))
    return unassign(judged, UnassignRequest(request.name, request.stage, request.rationale, who,
                                            via="request", extra=extra))


def _merged(repo: Repo, tip: str, branch: str, arg: str) -> str:
    try:
        return requests.find(repo.git, tip, arg)
    except UsageError:
        rid = arg.strip().rstrip("/").rsplit("/", 1)[-1]
        seen = repo.git.out(["log", "--all", "-1", "--format=%H", "--",
                             requests.request_path(requests.check_id(rid))]).strip()
        if seen:
            raise PolicyError(f"request {rid} is not on {branch} (as fetched): it was never "
                              f"merged (it is only in {seen[:12]}); merge its pull request, "
                              "fetch, then run this again") from None
        raise


def _already(repo: Repo, name: str, rid: str) -> str | None:
    events, _ = tagevents.read(repo.git, name)
    return next((e.tag for e in events if e.trailers.get(tr.REQUEST) == rid), None)
