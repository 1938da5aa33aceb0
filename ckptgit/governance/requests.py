"""Promotion requests: the value, its canonical bytes and where it lives in a repository.

A request is ``.ckpt/requests/REQUEST-ID/request.yaml``, written once by ``git ckpt propose``
and never edited: approvals sign the sha256 of its exact bytes, so any change after a
signature makes that signature count for nothing. Signed statements (the proposer's, the
reviewers') live beside it in ``.ckpt/requests/REQUEST-ID/approvals/`` (governance/approvals.py).

Everything here reads git objects at one revision (the protected branch, a PR branch), never
the work tree, and bounds what it reads: a request is a small file a teammate may have written
by hand.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any

from ckptgit import sidecar
from ckptgit.errors import IntegrityError, UsageError
from ckptgit.git import Git

DIR = ".ckpt/requests"
FILE = "request.yaml"
APPROVALS = "approvals"
ACTIONS = ("promote", "revert", "unassign", "ratify")
MAX_BYTES = 64 * 1024
MAX_FILES = 256  # signed statements per request
_ID = re.compile(r"^(?:[0-9a-f]{12}|ratify-[0-9a-f]{12})$")
_HEX = re.compile(r"^[0-9a-f]{16,64}$")
_FIELDS = ("schema_version", "id", "action", "name", "stage", "rationale", "proposer",
           "created_at", "base", "candidate", "holder", "reverts", "tag", "gates", "check")


@dataclass(frozen=True)
class Candidate:
    id: str
    commit: str
    seal: str  # sha256 of the checkpoint's bytes
    path: str


@dataclass(frozen=True)
class Request:
    """One request as written; ``raw`` is the exact bytes every signature binds."""

    id: str
    action: str  # promote | revert | unassign | ratify
    name: str
    stage: str
    rationale: str
    proposer: str  # the principal whose signed "propose" statement must sit beside it
    created_at: int
    base: str  # the protected branch's commit the request was made from
    candidate: Candidate | None
    holder: dict[str, Any] | None  # tag, id, commit of the stage's holder when proposed
    reverts: str | None  # revert: the holder's tag it replaces
    tag: dict[str, Any] | None  # ratify: the emergency tag {name, object}
    gates: dict[str, Any]  # digest and per-gate results when proposed
    check: dict[str, Any]  # digest and counts of check findings when proposed
    raw: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.raw).hexdigest()

    @property
    def path(self) -> str:
        return request_path(self.id)

    def to_dict(self) -> dict[str, Any]:
        data = {k: getattr(self, k) for k in _FIELDS if k != "schema_version"}
        data["candidate"] = vars(self.candidate) if self.candidate else None
        data["sha256"] = self.sha256
        return data


def new_id() -> str:
    return secrets.token_hex(6)


def ratify_id(tag_object: str) -> str:
    """A ratification's id follows from the emergency tag, so every ratifier writes the same
    request file (identical bytes, identical id) and their approvals add up."""
    return f"ratify-{tag_object[:12]}"


def check_id(rid: str) -> str:
    if not _ID.match(rid):
        raise UsageError(f"{rid!r} is not a request id (12 hex digits, or ratify-<12 hex>)")
    return rid


def request_path(rid: str) -> str:
    return f"{DIR}/{check_id(rid)}/{FILE}"


def approvals_dir(rid: str) -> str:
    return f"{DIR}/{check_id(rid)}/{APPROVALS}"


def render(fields: dict[str, Any]) -> bytes:
    """The canonical bytes: the fields in a fixed order, YAML through the safe dumper."""
    unknown = set(fields) - set(_FIELDS)
    if unknown:
        raise UsageError(f"unknown request fields {sorted(unknown)}")
    ordered = {"schema_version": 1, **{k: fields.get(k) for k in _FIELDS[1:]}}
    header = "# A promotion request (git ckpt propose). Do not edit: approvals sign these bytes.\n"
    return (header + sidecar.dump(ordered)).encode()


def parse(raw: bytes, what: str = FILE) -> Request:
    """A request from its bytes, validated; IntegrityError for anything malformed."""
    if len(raw) > MAX_BYTES:
        raise IntegrityError(f"{what} is larger than {MAX_BYTES} bytes")
    _no_aliases(raw, what)
    try:
        doc = sidecar.parse_yaml(raw, what)
    except UsageError as exc:
        raise IntegrityError(str(exc)) from exc
    if not isinstance(doc, dict) or doc.get("schema_version") != 1:
        raise IntegrityError(f"{what} is not a version-1 request")
    try:
        return _from_doc(doc, raw)
    except (KeyError, TypeError, ValueError, UsageError) as exc:
        raise IntegrityError(f"{what} is malformed ({type(exc).__name__}: {exc})") from exc


def _no_aliases(raw: bytes, what: str) -> None:
    """We never write anchors or aliases; a request that has them is hand-made (and aliases
    can expand a small file into a huge document)."""
    from ckptgit import yamlsafe

    try:
        aliased = yamlsafe.has_aliases(raw)
    except yamlsafe.YAMLError as exc:
        raise IntegrityError(f"{what} is not valid YAML") from exc
    if aliased:
        raise IntegrityError(f"{what} uses YAML anchors or aliases")


def _from_doc(doc: dict[str, Any], raw: bytes) -> Request:
    action = str(doc["action"])
    if action not in ACTIONS:
        raise ValueError(f"action {action!r}")
    cand = doc.get("candidate")
    candidate = None
    if cand is not None:
        candidate = Candidate(str(cand["id"]), str(cand["commit"]), str(cand["seal"]),
                              str(cand["path"]))
        if not _HEX.match(candidate.seal) or not _HEX.match(candidate.commit):
            raise ValueError("candidate seal or commit is not hex")
    for key in ("holder", "tag", "gates", "check"):
        if doc.get(key) is not None and not isinstance(doc[key], dict):
            raise TypeError(f"{key} must be a mapping")
    return Request(check_id(str(doc["id"])), action, str(doc["name"]), str(doc["stage"]),
                   str(doc.get("rationale") or ""), str(doc["proposer"]),
                   int(doc["created_at"]), str(doc.get("base") or ""), candidate,
                   doc.get("holder"), doc.get("reverts"), doc.get("tag"),
                   doc.get("gates") or {}, doc.get("check") or {}, raw)


def ids_at(git: Git, rev: str) -> list[str]:
    """Ids of the requests in commit ``rev``."""
    out = git.out(["ls-tree", "-z", "--name-only", f"{rev}:{DIR}"]) if _has_dir(git, rev) else ""
    return sorted(n for n in out.split("\0") if n and _ID.match(n))


def _has_dir(git: Git, rev: str) -> bool:
    return git.rev_parse(f"{rev}:{DIR}") is not None


def find(git: Git, rev: str, arg: str | None, base: str | None = None) -> str:
    """The request ``arg`` names (an id or a unique prefix) in ``rev``; with no ``arg``, the one
    request ``rev`` adds over ``base``."""
    known = ids_at(git, rev)
    if arg:
        arg = arg.strip().rstrip("/").rsplit("/", 1)[-1]
        hits = [r for r in known if r == arg or (len(arg) >= 4 and r.startswith(arg))]
    else:
        before = set(ids_at(git, base)) if base else set()
        hits = [r for r in known if r not in before]
    if len(hits) == 1:
        return hits[0]
    if not hits:
        where = f"request {arg}" if arg else "a new request"
        raise UsageError(f"{where} is not in {rev[:12] if len(rev) == 40 else rev}: check out "
                         "the proposal branch, or name the request (git ckpt review REQUEST)")
    raise UsageError(f"several requests match ({', '.join(hits[:5])}): name one")


def load_at(git: Git, rev: str, rid: str) -> Request | None:
    raw = git.show_file(rev, request_path(rid))
    return parse(raw, f"{rev[:12]}:{request_path(rid)}") if raw is not None else None


def statements_at(git: Git, rev: str, rid: str) -> dict[str, bytes]:
    """Path -> bytes of every file in the request's approvals folder at ``rev`` (bounded)."""
    folder = approvals_dir(rid)
    if git.rev_parse(f"{rev}:{folder}") is None:
        return {}
    names = [n for n in git.out(["ls-tree", "-z", "--name-only", f"{rev}:{folder}"]).split("\0")
             if n]
    if len(names) > 2 * MAX_FILES:
        raise IntegrityError(f"{folder} holds {len(names)} files (at most {2 * MAX_FILES})")
    specs = [f"{rev}:{folder}/{n}" for n in names]
    blobs = git.cat_files(specs)
    return {spec.split(":", 1)[1]: data for spec, data in blobs.items()
            if data is not None and len(data) <= MAX_BYTES}


def trusted_rev(git: Git, branch: str) -> str | None:
    """The protected branch as fetched (origin's copy), else the local branch."""
    for ref in (f"refs/remotes/origin/{branch}", f"refs/heads/{branch}"):
        sha = git.rev_parse(f"{ref}^{{commit}}")
        if sha is not None:
            return sha
    return None


def branch_name(name: str, stage: str, rid: str) -> str:
    return f"ckpt/propose/{name}/{stage}/{rid[:8]}"
