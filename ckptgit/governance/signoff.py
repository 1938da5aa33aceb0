"""What a stage tag's signed approvals say, for every reader (verify, audit, history, hooks).

``tag_problems`` judges one promotion, revert or unassignment tag: a tag carrying
``Ckpt-Request`` must name a request on the protected branch whose signed approvals verify
(``approvals.verify_request``) for exactly this action, checkpoint and seal, and every
``Approved-By`` it lists must be one of them; a tag on a stage with ``approvals: N`` that
carries none is refused, unless it is a responder's ``Emergency: true`` revert, which must be
ratified within the stage's window (``ratification``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ckptgit.config import StageRule
from ckptgit.errors import CkptError
from ckptgit.governance import approvals, requests
from ckptgit.governance import trailers as tr

_SHA = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class TagFacts:
    """What a reader knows about one tag (from its record or its pushed object)."""

    name: str
    object: str  # the tag object's id
    action: str
    stage: str
    created_at: int
    trailers: tr.Trailers


def tag_problems(git: Any, tag: TagFacts, rule: StageRule, trust: approvals.TrustRoot,
                 tip: str | None) -> list[str]:
    """Why ``tag``'s approvals do not hold (empty: they do, or the stage needs none)."""
    t = tag.trailers
    if tag.action not in ("promote", "revert", "unassign"):
        return []
    if t.get(tr.EMERGENCY) is not None:
        return _emergency(tag, rule)
    rid = t.get(tr.REQUEST)
    if rid is None:
        if rule.approvals:
            return [f"{tag.stage} takes only signed approvals ({rule.approvals} required): the "
                    f"tag carries no {tr.REQUEST} (git ckpt propose, then promote --request)"]
        return []
    try:
        return _request(git, tag, rid, rule, trust, tip)
    except CkptError as exc:
        return [f"{tr.REQUEST} {rid}: {exc}"]


def _emergency(tag: TagFacts, rule: StageRule) -> list[str]:
    t = tag.trailers
    found = []
    if t.get(tr.EMERGENCY) != "true" or tag.action != "revert":
        found.append(f"{tr.EMERGENCY}: true is for reverts only")
    signer = t.get(tr.SIGNED_BY) or ""
    if signer not in rule.responders:
        found.append(f"an emergency revert by {signer or 'an unnamed signer'}, who is not a "
                     f"responder of {tag.stage} (responders: "
                     f"{', '.join(rule.responders) or 'none'})")
    return found


def _request(git: Any, tag: TagFacts, rid: str, rule: StageRule, trust: approvals.TrustRoot,
             tip: str | None) -> list[str]:
    t = tag.trailers
    at = t.get(tr.REQUEST_COMMIT) or ""
    if not _SHA.match(at):
        return [f"{tr.REQUEST_COMMIT} is not a commit id"]
    if tip is None or not (at == tip or git.is_ancestor(at, tip)):
        return [f"request {rid} at {at[:12]} is not on the protected branch (never merged)"]
    loaded = approvals.load(git, at, requests.check_id(rid))
    req = loaded.request
    found = []
    cand = req.candidate
    if (req.action, req.stage) != (tag.action, tag.stage):
        found.append(f"request {rid} is to {req.action} in {req.stage}, not this {tag.action}")
    if cand is None or cand.id != t.get(tr.ID) or \
            (t.get(tr.SEAL) or f"sha256:{cand.seal}") != f"sha256:{cand.seal}":
        found.append(f"request {rid} names another checkpoint or seal than this tag")
    verdict = approvals.verify_request(req, loaded.files, rule, trust, tag.created_at)
    found += verdict.reasons()
    extra = sorted(set(t.all(tr.APPROVED_BY)) - set(verdict.approved_by))
    if extra:
        found.append(f"Approved-By {', '.join(extra)}: no verified signed approval")
    return found


@dataclass(frozen=True)
class Ratification:
    tag: str
    state: str  # ratified | pending | overdue
    due: int
    approved_by: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"tag": self.tag, "state": self.state, "due": approvals._iso(self.due),
                "approved_by": list(self.approved_by), "reasons": list(self.reasons)}


def ratification(git: Any, tag: TagFacts, rule: StageRule, trust: approvals.TrustRoot,
                 tip: str | None, now: int) -> Ratification:
    """Whether an emergency revert was ratified by signed approvals within the window."""
    due = tag.created_at + rule.ratify_within
    rid = requests.ratify_id(tag.object)
    reasons: tuple[str, ...] = ("no ratification request on the protected branch",)
    approved: tuple[str, ...] = ()
    if tip is not None:
        try:
            loaded = approvals.load(git, tip, rid)
        except CkptError:
            loaded = None
        if loaded is not None:
            verdict = approvals.verify_request(loaded.request, loaded.files, rule, trust, due,
                                               proposer_signed=False)
            bound = (loaded.request.tag or {}).get("object") == tag.object
            reasons = tuple(verdict.reasons()) + (() if bound else (
                "the ratification names another tag object",))
            approved = verdict.approved_by
            if not reasons:
                return Ratification(tag.name, "ratified", due, approved)
    return Ratification(tag.name, "pending" if now <= due else "overdue", due, approved, reasons)


def facts(record: Any) -> TagFacts | None:
    """TagFacts of a ``git.TagRecord`` of a stage tag (None for others)."""
    from ckptgit import tags

    parsed = tags.parse(record.name)
    if parsed is None or parsed.stage is None:
        return None
    trailers = tr.parse(record.body)
    action = trailers.get(tr.ACTION) or {"assign": "promote"}.get(parsed.kind, parsed.kind)
    return TagFacts(record.name, record.object, action, parsed.stage, record.created_at,
                    trailers)


def fresh_statements(git: Any, heads: list[str], now: int, window: int) -> list[str]:
    """Server side: a signed statement a push brings for the first time must be dated within
    ``window`` seconds of the server's clock, so "valid when signed" cannot be backdated past
    the moment the server first saw it. Statements the server already has (a squash or a
    rebase re-adds them) are not judged again."""
    added = _statement_blobs(git, [*heads, "--not", "--all"])
    if not added:
        return []
    known = set(_statement_blobs(git, ["--all"]).values())
    fresh = {path: blob for path, blob in added.items() if blob not in known}
    found = []
    for blob, raw in git.cat_files(sorted(set(fresh.values()))).items():
        try:
            st = approvals.parse_statement(raw or b"")
        except (ValueError, UnicodeDecodeError):
            continue  # it counts for nothing anyway
        if abs(now - st.signed_at) > window:
            where = next(p for p, b in fresh.items() if b == blob)
            found.append(f"{where}: signed-at is {abs(now - st.signed_at)} s from server time "
                         f"(allowed ±{window} s): sign it again (git ckpt approve)")
    return found


def _statement_blobs(git: Any, revs: list[str]) -> dict[str, str]:
    """Statement file path -> blob id, for files added or changed in the commits of ``revs``."""
    out = git.out(["log", "--format=", "--raw", "--no-abbrev", "--no-renames",
                   "--diff-filter=AM", *revs, "--", requests.DIR])
    found = {}
    for line in out.splitlines():
        meta, _, path = line.partition("\t")
        parts = meta.split()
        if len(parts) >= 4 and f"/{requests.APPROVALS}/" in path and not path.endswith(".sig"):
            found[path] = parts[3]
    return found
