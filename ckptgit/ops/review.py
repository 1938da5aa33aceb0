"""``git ckpt review``: one page for a reviewer, and the comment CI posts on the PR.

The request is read from HEAD (the PR's branch or merge commit); the rules, signers and gates
from the protected branch (the PR's base), never from the PR. The page holds the diff against
the stage's holder (from the sidecars and tensor headers: no weight bytes), ``check``'s
findings, the gates run again, the approvals so far (each signature verified) and what is
still required.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ckptgit.compare import checks
from ckptgit.compare.result import Diff
from ckptgit.errors import UsageError
from ckptgit.governance import approvals, gates, requests
from ckptgit.ops.check import run as check_run
from ckptgit.ops.diff import compare, load_sidecars
from ckptgit.ops.promote import run_gates
from ckptgit.ops.propose import trusted
from ckptgit.repo import Repo


@dataclass
class Review:
    request: requests.Request
    rev: str  # the commit the request was read at
    base_branch: str
    verdict: approvals.ApprovalVerdict
    diff: Diff | None
    findings: list[checks.Finding] = field(default_factory=list)
    gates: list[gates.GateResult] = field(default_factory=list)
    gates_run: str = "metric"  # which gates ran: metric | all | none

    @property
    def gates_failed(self) -> bool:
        return any(not g.passed for g in self.gates)

    def to_dict(self) -> dict[str, Any]:
        return {"request": self.request.to_dict(), "rev": self.rev, "base": self.base_branch,
                "approvals": self.verdict.to_dict(),
                "diff": self.diff.to_dict() if self.diff else None,
                "findings": [f.to_dict() for f in self.findings],
                "gates": [g.to_dict() for g in self.gates], "gates_run": self.gates_run,
                "gates_failed": self.gates_failed}


def review(repo: Repo, arg: str | None = None, rev: str = "HEAD",
           run_command_gates: bool = False) -> Review:
    git = repo.git
    at = git.rev_parse(f"{rev}^{{commit}}")
    if at is None:
        raise UsageError(f"{rev} is not a commit")
    branch, tip, trust, judged = trusted(repo)
    rid = requests.find(git, at, arg, tip)
    loaded = approvals.load(git, at, rid)
    req = loaded.request
    rule = trust.config.rule(req.stage)
    verdict = approvals.verify_request(req, loaded.files, rule, trust,
                                       proposer_signed=req.action != "ratify")
    out = Review(req, at, branch, verdict, None)
    if req.candidate is None or req.action == "ratify":
        out.gates_run = "none"
        return out
    ckpt = judged.resolve(req.candidate.id)
    holder = (req.holder or {}).get("id")
    if holder and holder != ckpt.id:
        out.diff = compare(judged, str(holder), ckpt.id)
    out.findings = check_run(judged, [ckpt.id], str(holder) if holder else None)
    if req.action != "unassign":
        stage_gates = rule.gates if run_command_gates else tuple(
            g for g in rule.gates if g.kind == "metric")
        out.gates_run = "all" if run_command_gates else "metric"
        out.gates = run_gates(judged, ckpt, load_sidecars(judged, [ckpt])[0], req.stage,
                              stage_gates)
    return out
