"""``git ckpt promote``: gates, then a signed ``NAME#STAGE#N`` tag, then the stage's manifest.

Order: refuse early (policy, signing set-up), run the gates, make and verify the tag (the
point of no return), then commit ``deploy/<stage>.yaml``. A failure before the tag leaves
nothing behind; a failure after it leaves a valid tag whose manifest a rerun rewrites.
"""

from __future__ import annotations

import logging
import re
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from ckptgit import tags
from ckptgit.errors import ExternalError, UsageError
from ckptgit.governance import artifacts, gates, manifest, policy, tagevents, tagsigning, trustroot
from ckptgit.governance import trailers as tr
from ckptgit.model import Checkpoint
from ckptgit.policy import enforce
from ckptgit.repo import Repo

_VERSION = re.compile(r"^v\d+\.\d+\.\d+$")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PromoteRequest:
    ref: str
    stage: str
    rationale: str
    approvers: tuple[str, ...] = ()
    version: str | None = "auto"  # AUTO: the next patch version (as GTO bumps); None: none
    override: bool = False
    via: str = "direct"  # "request": approvals verified by governance/approvals.py
    extra: tuple[tuple[str, str], ...] = ()  # trailers added before Signed-By (Ckpt-Request)


AUTO = "auto"


def next_version(events: Sequence[tagevents.Event], name: str, commit: str) -> str | None:
    """The version to register for a promotion of ``commit``: none when it has one already
    (GTO reads that), else the highest of ``name`` with its patch bumped, v0.0.1 first."""
    found = [e for e in events if e.kind == "register" and e.name == name and e.version]
    if any(e.commit == commit for e in found):
        return None
    parts = [tuple(int(x) for x in m.groups()) for e in found
             if (m := re.match(r"^v(\d+)\.(\d+)\.(\d+)$", e.version or ""))]
    major, minor, patch = max(parts, default=(0, 0, 0))
    return f"v{major}.{minor}.{patch + 1}"


@dataclass
class Outcome:
    tag: str
    action: str
    name: str
    stage: str
    id: str
    commit: str
    manifest: str | None = None
    manifest_commit: str | None = None
    version_tag: str | None = None
    reverts: str | None = None
    ends: str | None = None  # an unassignment: the tag whose assignment it ends
    sandbox_report: str | None = None
    gates: list[gates.GateResult] = field(default_factory=list)
    superseded_by: str | None = None  # a newer event of the stage wrote the manifest instead
    # the holder it replaces was evaluated on other data (compare/evaldata.py)
    warnings: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"tag": self.tag, "action": self.action, "name": self.name,
                "stage": self.stage, "id": self.id, "commit": self.commit,
                "manifest": self.manifest, "manifest_commit": self.manifest_commit,
                "version_tag": self.version_tag, "reverts": self.reverts, "ends": self.ends,
                "sandbox_report": self.sandbox_report, "superseded_by": self.superseded_by,
                "gates": [g.to_dict() for g in self.gates],
                **({"warnings": self.warnings} if self.warnings else {})}


def promote(repo: Repo, req: PromoteRequest) -> Outcome:
    git = repo.git
    cfg = trustroot.rules(git, repo.config)  # the trusted revision's, not the work tree's
    rationale = tr.check_value(tr.RATIONALE, req.rationale) if req.rationale.strip() else ""
    approvers = tuple(tr.check_value(tr.APPROVED_BY, a) for a in req.approvers)
    ckpt = repo.resolve(req.ref)
    if not tags.gto_readable(ckpt.name):
        log.warning("GTO cannot read the name %r (it allows letters, digits, '-' and '_', "
                    "ending in a letter or digit): gto show will not list this promotion",
                    ckpt.name)
    events, locks = tagevents.read(git, ckpt.name)
    holder = tagevents.holders(events).get((ckpt.name, req.stage))
    lock = tagevents.locked(locks).get(req.stage)
    previous = cfg.previous_stage(req.stage) if req.stage in cfg.stages else None
    deprecation = tagevents.deprecated(events).get(ckpt.name)
    state = policy.State(
        holder_commit=holder.commit if holder else None,
        held_previous=bool(previous) and tagevents.ever_held(events, ckpt.name, previous or "",
                                                            ckpt.commit),
        locked_by=lock.tag if lock else None,
        deprecated_by=deprecation.tag if deprecation else None)
    request = policy.Request("promote", req.stage, rationale, approvers, ckpt.name,
                             ckpt.commit, req.override, req.via)
    decision = policy.decide(cfg, state, request)
    decision.raise_if_refused()
    rule = decision.rule
    version = (next_version(events, ckpt.name, ckpt.commit) if req.version == AUTO
               else req.version)
    if version is not None and req.version != AUTO:  # a default version is drawn again at tagging
        _check_version(repo, ckpt.name, version)
    tagsigning.preflight(git)
    trust = tagsigning.repo_trust(repo.root)
    signer = tagsigning.signer_principal(git, trust[0], rule.signers)
    doc = artifacts.sidecar_doc(repo, ckpt)
    enforce.judge_promotion(repo, ckpt, req.stage, doc)
    warned = eval_data_versus_holder(repo, ckpt, doc, holder.commit if holder else None,
                                     req.stage)
    results = run_gates(repo, ckpt, doc, req.stage, rule.gates)
    gates.require_pass(results, req.stage)
    pairs = base_trailers("promote", ckpt, doc, req.stage, rationale, approvers,
                          lock.tag if (lock and req.override) else None, signer,
                          deprecation.tag if (deprecation and req.override) else None)
    pairs[-1:-1] = list(req.extra)
    version_tag = None
    if version is not None:
        version_tag = _register(repo, ckpt, version, rationale, trust, rule.signers,
                                auto=req.version == AUTO)
    tag = make_tag(repo, ckpt, req.stage, f"promote {ckpt.name} {ckpt.short_id} to "
                   f"{req.stage}", tr.build(pairs), trust, rule.signers)
    out = Outcome(tag, "promote", ckpt.name, req.stage, ckpt.id, ckpt.commit,
                  version_tag=version_tag, gates=results, warnings=warned)
    write_manifest(repo, out, ckpt, doc)
    return out


def eval_data_versus_holder(repo: Repo, ckpt: Checkpoint, doc: Mapping[str, Any],
                            holder_commit: str | None, stage: str) -> list[dict[str, Any]]:
    """The candidate's metrics against the stage holder's it replaces: computed on other
    evaluation data, a warning (or refused, exit 4, per ``comparison.eval_data``)."""
    from ckptgit.compare import evaldata

    if holder_commit is None or holder_commit == ckpt.commit:
        return []
    held = next((c for c in repo.checkpoints() if c.commit == holder_commit), None)
    if held is None:
        return []
    found = evaldata.compare(held.short_id, artifacts.sidecar_doc(repo, held), ckpt.short_id,
                             doc)
    judged = evaldata.judge(found, evaldata.mode(repo.config.raw),
                            f"promote {ckpt.short_id} to {stage} (held by {held.short_id})")
    return [m.to_dict() for m in judged]


def run_gates(repo: Repo, ckpt: Checkpoint, doc: dict[str, Any], stage: str,
              stage_gates: Sequence[Any]) -> list[gates.GateResult]:
    """Gates against this checkpoint's own bytes, rehydrated and sealed in a scratch folder."""
    if not gates.needs_bytes(stage_gates):
        return gates.run(stage_gates, ckpt, stage, cwd=repo.root, artifact=None, doc=doc)
    scratch = repo.git.ckpt_dir / "tmp"
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="gates-", dir=scratch) as tmp:
        from pathlib import Path

        written = artifacts.materialize(repo, ckpt, artifacts.pieces(ckpt, doc), Path(tmp))
        return gates.run(stage_gates, ckpt, stage, cwd=repo.root, artifact=written[ckpt.path],
                         doc=doc)


def base_trailers(action: str, ckpt: Checkpoint, doc: dict[str, Any], stage: str,
                  rationale: str, approvers: Sequence[str], overridden_lock: str | None,
                  signer: str, overridden_deprecation: str | None = None,
                  ) -> list[tuple[str, str | None]]:
    pairs: list[tuple[str, str | None]] = [
        (tr.ACTION, action), (tr.ID, ckpt.id), (tr.NAME, ckpt.name), (tr.STAGE, stage),
        (tr.SEAL, f"sha256:{ckpt.sha256}")]
    pairs += [(tr.COMPANION, f"{p.path} sha256:{p.sha256}")
              for p in artifacts.pieces(ckpt, doc)[1:]]
    pairs.append((tr.RATIONALE, rationale))
    pairs += [(tr.APPROVED_BY, a) for a in approvers]
    if overridden_lock:
        pairs.append((tr.OVERRIDE, f"lock {overridden_lock}"))
    if overridden_deprecation:
        pairs.append((tr.OVERRIDE, f"deprecation {overridden_deprecation}"))
    pairs.append((tr.SIGNED_BY, signer or None))
    return pairs


def make_tag(repo: Repo, ckpt: Checkpoint, stage: str, subject: str, trailers: tr.Trailers,
             trust: tuple[str, str | None], principals: Sequence[str],
             naming: Callable[[str, str, int], str] = tags.assignment) -> str:
    """A signed event tag on ``ckpt``'s commit, named by ``naming`` with the next counter."""
    git = repo.git
    signer = trailers.get(tr.SIGNED_BY)
    narrowed = [signer] if signer else principals

    def next_name() -> tuple[str, int]:
        records = git.tag_records([f"refs/tags/{ckpt.name}#*", f"refs/tags/{ckpt.name}@*"])
        number = tags.next_number([r.name for r in records], ckpt.name)
        floor = max((r.created_at for r in records), default=-1) + 1
        return naming(ckpt.name, stage, number), floor

    return tagsigning.create(git, next_name, ckpt.commit, tr.message(subject, trailers),
                          trust[0], trust[1], narrowed)


def write_manifest(repo: Repo, out: Outcome, ckpt: Checkpoint, doc: dict[str, Any],
                   extra: dict[str, bytes] | None = None) -> None:
    rel = manifest.path_for(repo.config.governance.manifest_dir, out.stage)
    stale = partial(_superseded, repo, out)
    if out.action == "unassign":
        out.manifest = rel
        out.manifest_commit = manifest.commit(
            repo.git, rel, out.stage, ckpt.name, None,
            f"ckpt: {out.stage} no longer serves {ckpt.name} ({out.tag})", extra, stale)
        return
    entry = {"id": ckpt.id, "tag": out.tag, "action": out.action, "commit": ckpt.commit,
             "path": ckpt.path, "sha256": ckpt.sha256,
             "companions": [{"path": p.path, "sha256": p.sha256}
                            for p in artifacts.pieces(ckpt, doc)[1:]]}
    out.manifest = rel
    out.manifest_commit = manifest.commit(
        repo.git, rel, out.stage, ckpt.name, entry,
        f"ckpt: {out.stage} serves {ckpt.name} {ckpt.short_id} ({out.tag})", extra, stale)


def _superseded(repo: Repo, out: Outcome) -> bool:
    """Whether a genuine event of the same name and stage with a higher counter exists (a
    concurrent promotion, revert or unassignment tagged after ours): the manifest is its to
    write. Only verified events count, so a forged tag cannot freeze the manifest."""
    ours = tags.parse(out.tag)
    mine = ours.number if ours and ours.number is not None else 0
    events, _ = tagevents.read(repo.git, out.name)
    newer = [e for e in events if e.verified and e.stage == out.stage and (e.number or 0) > mine]
    if newer:
        out.superseded_by = max(newer, key=lambda e: e.number or 0).tag
    return bool(newer)


def _check_version(repo: Repo, name: str, version: str) -> None:
    if not _VERSION.match(version):
        raise UsageError(f"--version must look like v1.2.3, not {version!r}")
    if repo.git.rev_parse(f"refs/tags/{tags.version(name, version)}") is not None:
        raise UsageError(f"{tags.version(name, version)} already exists: pick another version")


def _register(repo: Repo, ckpt: Checkpoint, version: str, rationale: str,
              trust: tuple[str, str | None], principals: Sequence[str], auto: bool) -> str:
    """Sign ``NAME@version``. A version picked by default is picked again on every try:
    concurrent promotions of one name would all draw the same next version otherwise."""
    pairs = tr.build([(tr.ACTION, "register"), (tr.ID, ckpt.id), (tr.NAME, ckpt.name),
                      (tr.SEAL, f"sha256:{ckpt.sha256}"), (tr.RATIONALE, rationale)])
    fixed = tags.version(ckpt.name, version)

    def make_name() -> tuple[str, int]:
        if not auto:
            return fixed, 0
        events, _ = tagevents.read(repo.git, ckpt.name)
        return tags.version(ckpt.name, next_version(events, ckpt.name, "") or version), 0

    subject = f"register {fixed}" if not auto else f"register {ckpt.name} {ckpt.short_id}"
    return tagsigning.create(repo.git, make_name, ckpt.commit, tr.message(subject, pairs),
                             trust[0], trust[1], principals)


def push_tags(repo: Repo, tags_made: list[str]) -> None:
    """``--push``: the branch (with its manifest commit) and the new tags to origin."""
    done = repo.git.run(["push", "origin", "HEAD", *[f"refs/tags/{t}" for t in tags_made]],
                        check=False)
    if done.returncode != 0:
        tail = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ExternalError(f"tagged locally, but git push failed: {tail[-1] if tail else ''}; "
                            "push again with 'git push origin HEAD --tags'")
