"""``git ckpt propose``: a promotion (revert, unassignment) as a branch to review in a PR.

The rules come from the protected branch (its ``.ckpt/config.yaml`` and allowed_signers), never
the work tree. The gates run and ``check`` compares the candidate with the stage's holder; then
ONE commit on top of the protected branch holds the request, the proposer's signed statement
and the desired ``deploy/STAGE.yaml``, on a new branch ``ckpt/propose/NAME/STAGE/ID8``. It is
built in a private index: the user's index, work tree and current branch are not touched.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ckptgit import proc, sidecar
from ckptgit.errors import ExternalError, UsageError
from ckptgit.governance import approvals, artifacts, gates, manifest, policy, requests, tagevents
from ckptgit.governance import trailers as tr
from ckptgit.model import Checkpoint, Sidecar
from ckptgit.ops.promote import run_gates
from ckptgit.repo import Repo

if TYPE_CHECKING:  # checks pulls in the comparison code: imported only where it runs
    from ckptgit.compare import checks


@dataclass(frozen=True)
class ProposeArgs:
    ref: str
    stage: str
    rationale: str
    revert_to: str | None = None  # a revert: REF names the artifact, this the known-good one
    unassign: bool = False
    key: str | None = None  # default: git's user.signingkey


@dataclass
class Proposal:
    request: requests.Request
    branch: str
    commit: str
    base_branch: str
    gates: list[gates.GateResult] = field(default_factory=list)
    findings: list[checks.Finding] = field(default_factory=list)
    pushed: bool = False
    pr: str | None = None  # the PR's URL, or the command to open it

    def to_dict(self) -> dict[str, Any]:
        return {"request": self.request.id, "path": self.request.path,
                "sha256": self.request.sha256, "action": self.request.action,
                "name": self.request.name, "stage": self.request.stage,
                "branch": self.branch, "commit": self.commit, "base": self.base_branch,
                "gates": [g.to_dict() for g in self.gates],
                "findings": [f.to_dict() for f in self.findings],
                "pushed": self.pushed, "pr": self.pr}


def trusted(repo: Repo) -> tuple[str, str, approvals.TrustRoot, Repo]:
    """(branch, its commit, its rules and signers, a Repo judged by those rules)."""
    branch = repo.config.governance.request_branch
    tip = requests.trusted_rev(repo.git, branch)
    if tip is None:
        raise UsageError(f"no branch {branch} (governance.request_branch) here or on origin: "
                         "requests are made from and merged into it")
    trust = approvals.trust_at(repo.git, tip)
    judged = Repo(repo.git)
    judged.__dict__["config"] = trust.config  # gates and rules from the trusted revision
    return branch, tip, trust, judged


def signing_key(repo: Repo, key: str | None) -> str:
    value = key or repo.git.config("user.signingkey")
    if not value:
        raise UsageError("no SSH key to sign with: pass --key ~/.ssh/id_ed25519 or run "
                         "'git config user.signingkey ~/.ssh/id_ed25519.pub'")
    return value


def propose(repo: Repo, args: ProposeArgs) -> Proposal:
    git = repo.git
    branch, tip, trust, judged = trusted(repo)
    rationale = tr.check_value(tr.RATIONALE, args.rationale)
    action, ckpt, view = _subject(repo, args)
    rule = trust.config.rule(args.stage)
    _decide(judged, action, ckpt, view, args.stage, rationale)
    key = signing_key(repo, args.key)
    proposer = approvals.principal_of(approvals.public_key(key, repo.root), trust.signers)
    doc = artifacts.read_sidecar(repo, ckpt)
    results = [] if action == "unassign" else run_gates(judged, ckpt, doc, args.stage, rule.gates)
    gates.require_pass(results, args.stage)
    holder = view.holder
    from ckptgit.ops.check import run as check_run

    findings = check_run(judged, [ckpt.id], holder.trailers.get(tr.ID) if holder else None) \
        if action != "unassign" else []
    rid = requests.new_id()
    raw = requests.render({
        "id": rid, "action": action, "name": ckpt.name, "stage": args.stage,
        "rationale": rationale, "proposer": proposer, "created_at": _now(repo), "base": tip,
        "candidate": {"id": ckpt.id, "commit": ckpt.commit, "seal": ckpt.sha256,
                      "path": ckpt.path},
        "holder": {"tag": holder.tag, "id": holder.trailers.get(tr.ID),
                   "commit": holder.commit} if holder else None,
        "reverts": holder.tag if action == "revert" and holder else None,
        "gates": {"digest": approvals.digest([g.to_dict() for g in results]),
                  "passed": all(g.passed for g in results),
                  "results": [{"gate": g.gate, "passed": g.passed} for g in results]},
        "check": {"digest": approvals.digest([f.to_dict() for f in findings]),
                  "errors": sum(f.severity == "error" for f in findings),
                  "warnings": sum(f.severity == "warning" for f in findings)}})
    request = requests.parse(raw)
    files = {request.path: raw, **statement_files(key, repo, request, "propose", proposer, "")}
    files.update(_manifest(judged, tip, request, ckpt, doc))
    name = requests.branch_name(ckpt.name, args.stage, rid)
    commit, _ = git.commit_files(tip, files, _message(request))
    if not git.update_ref(f"refs/heads/{name}", commit, None, "ckpt propose"):
        raise ExternalError(f"branch {name} exists already; run the command again")
    return Proposal(request, name, commit, branch, results, findings)


def _subject(repo: Repo, args: ProposeArgs) -> tuple[str, Checkpoint, tagevents.StageView]:
    if args.revert_to and args.unassign:
        raise UsageError("--revert-to and --unassign do not go together")
    if args.unassign:
        name = args.ref
        view = tagevents.stage_view(repo.git, name, args.stage)
        if view.holder is None:
            raise UsageError(f"stage {args.stage} of {name} holds nothing to unassign")
        return "unassign", repo.resolve(view.holder.trailers.get(tr.ID) or view.holder.commit), \
            view
    ckpt = repo.resolve(args.revert_to or args.ref)
    if args.revert_to:
        named = repo.resolve(args.ref).name if args.ref != ckpt.name else ckpt.name
        if named != ckpt.name:
            raise UsageError(f"--revert-to {args.revert_to} is a checkpoint of {ckpt.name}, "
                             f"not {named}")
    return ("revert" if args.revert_to else "promote"), ckpt, \
        tagevents.stage_view(repo.git, ckpt.name, args.stage)


def _decide(judged: Repo, action: str, ckpt: Checkpoint, view: tagevents.StageView, stage: str,
            rationale: str) -> None:
    events = view.events
    cfg = judged.config
    previous = cfg.previous_stage(stage) if stage in cfg.stages else None
    deprecation = tagevents.deprecated(events).get(ckpt.name)
    state = policy.State(
        holder_commit=view.holder.commit if view.holder else None,
        held_previous=bool(previous) and tagevents.ever_held(events, ckpt.name, previous or "",
                                                            ckpt.commit),
        locked_by=view.lock.tag if view.lock else None,
        deprecated_by=deprecation.tag if deprecation else None)
    policy.decide(cfg, state, policy.Request(
        action, stage, rationale, (), ckpt.name, None if action == "unassign" else ckpt.commit,
        False, "request")).raise_if_refused()


def statement_files(key: str, repo: Repo, request: requests.Request, verdict: str,
                    principal: str, comment: str) -> dict[str, bytes]:
    """The signed statement and its detached signature, as files beside the request."""
    st = approvals.Statement(request.id, request.sha256, verdict, principal, _now(repo),
                             approvals.check_comment(comment))
    sig = approvals.sign(key, repo.root, st)
    base = f"{requests.approvals_dir(request.id)}/{st.filename}"
    return {base: st.payload(), base + ".sig": sig}


def _manifest(judged: Repo, tip: str, request: requests.Request, ckpt: Checkpoint,
              doc: Sidecar) -> dict[str, bytes]:
    """The desired ``deploy/STAGE.yaml``; its ``tag`` is filled in by the promotion."""
    rel = manifest.path_for(judged.config.governance.manifest_dir, request.stage)
    entry = None if request.action == "unassign" else {
        "id": ckpt.id, "tag": None, "request": request.id, "action": request.action,
        "commit": ckpt.commit, "path": ckpt.path, "sha256": ckpt.sha256,
        "companions": [{"path": p.path, "sha256": p.sha256}
                       for p in artifacts.pieces(ckpt, doc)[1:]]}
    doc_new = manifest.updated(manifest.read(judged.git, tip, rel), request.stage, ckpt.name,
                               entry)
    return {rel: (manifest.HEADER + sidecar.dump(doc_new)).encode()}


def _message(request: requests.Request) -> str:
    short = request.candidate.id[:8] if request.candidate else ""
    verb = {"promote": "promote", "revert": "revert", "unassign": "unassign"}[request.action]
    return (f"ckpt: propose to {verb} {request.name} {short} in {request.stage}\n\n"
            f"{request.rationale}\n\nCkpt-Request: {request.id}\n")


def _now(repo: Repo) -> int:
    return repo.git.committer_time() or int(time.time())


def push(repo: Repo, proposal: Proposal) -> None:
    done = repo.git.run(["push", "origin", f"refs/heads/{proposal.branch}"], check=False)
    if done.returncode != 0:
        tail = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ExternalError(f"git push of {proposal.branch} failed: {tail[-1] if tail else ''}")
    proposal.pushed = True


def open_pr(repo: Repo, proposal: Proposal) -> str:
    """Open the PR with the GitHub CLI when it is installed and logged in; otherwise the exact
    command (and, for a GitHub remote, the URL) to open it by hand."""
    req = proposal.request
    title = f"ckpt: {req.action} {req.name} to {req.stage} (request {req.id})"
    body = (f"Promotion request `{req.id}`: {req.action} `{req.name}` "
            f"`{req.candidate.id[:8] if req.candidate else ''}` in `{req.stage}`.\n\n"
            f"Rationale: {req.rationale}\n\nReview: `git ckpt review {req.id}`; approve: "
            f"`git ckpt approve {req.id}`.\n")
    argv = ["gh", "pr", "create", "--base", proposal.base_branch, "--head", proposal.branch,
            "--title", title, "--body", body]
    if proc.which("gh") and proc.output_or_none(["gh", "auth", "status"]) is not None:
        done = proc.run(argv, cwd=repo.root, timeout=120)
        if done.returncode == 0:
            proposal.pr = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
            return proposal.pr
    import shlex

    url = _compare_url(repo, proposal)
    proposal.pr = shlex.join(argv) + (f"\n  or open {url}" if url else "")
    return proposal.pr


def _compare_url(repo: Repo, proposal: Proposal) -> str | None:
    origin = (repo.git.config("remote.origin.url") or "").removesuffix(".git")
    for prefix in ("git@github.com:", "https://github.com/", "ssh://git@github.com/"):
        if origin.startswith(prefix):
            slug = origin[len(prefix):]
            return (f"https://github.com/{slug}/compare/{proposal.base_branch}..."
                    f"{proposal.branch}?expand=1")
    return None
