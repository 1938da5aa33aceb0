"""Signed approvals: detached ``ssh-keygen -Y sign -n ckpt-approval`` statements, verified.

A statement is a few canonical lines that bind one request (its id AND the sha256 of its exact
bytes), a verdict (propose, approve, reject), the signer's principal, the moment it was signed
and a one-line comment. It is stored as ``approvals/PRINCIPAL.VERDICT`` with its signature in
``approvals/PRINCIPAL.VERDICT.sig`` beside the request: plain files, so merge commits, squash
merges and rebases all carry them unchanged.

``verify_request`` is the one judgement every reader asks (promote --request, verify, audit,
history, pre-receive). A statement counts only when its signature verifies with
``ssh-keygen -Y verify`` against the trusted allowed_signers narrowed to the stage's approvers,
at the moment it says it was signed (``-O verify-time``: a key's ``valid-after`` /
``valid-before`` must cover that moment, and a revoked key never counts); when it names this
request and these bytes; when its principal is distinct (and its key too) and is not the
proposer (unless the stage allows it). The latest statement of a principal is their verdict,
so a rejection stays outstanding until its author approves.

"When they signed" is the ``signed-at`` inside the signed bytes: the key must be valid then,
and that moment must fall between the request's creation and the promotion (the tag's date,
itself held to the server's clock by pre-receive). The signer chooses ``signed-at``; a server
running our pre-receive refuses a statement it sees for the first time dated outside its clock
window (``governance/signoff.fresh_statements``), so an expired key cannot backdate there. On a
host without it, an expired key could still claim an earlier date inside that span: a key that
must stop counting at once goes in ``.ckpt/revoked_signers``, which holds at any date.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ckptgit import proc
from ckptgit.config import Config, StageRule
from ckptgit.errors import IntegrityError, UsageError
from ckptgit.governance import requests
from ckptgit.governance import tagsigning as signing
from ckptgit.governance.requests import Request

NAMESPACE = "ckpt-approval"
VERDICTS = ("propose", "approve", "reject")
HEADER = "ckpt-approval v1"
_PRINCIPAL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9@._+-]{0,199}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\u0085]")
_FINGERPRINT = re.compile(r"(SHA256:[A-Za-z0-9+/=]+)")
SKEW = 300  # seconds a statement may claim to be ahead of the moment that bounds it


@dataclass(frozen=True)
class Statement:
    request_id: str
    request_sha256: str
    verdict: str
    principal: str
    signed_at: int
    comment: str = ""

    def __post_init__(self) -> None:
        if not _PRINCIPAL.match(self.principal):  # it names a file beside the request
            raise IntegrityError(f"principal {self.principal!r} cannot name a statement file "
                                 "(letters, digits and @._+- only)")

    def payload(self) -> bytes:
        return (f"{HEADER}\nrequest: {self.request_id}\nrequest-sha256: {self.request_sha256}\n"
                f"verdict: {self.verdict}\nprincipal: {self.principal}\n"
                f"signed-at: {self.signed_at}\ncomment: {self.comment}\n").encode()

    @property
    def filename(self) -> str:
        return f"{self.principal}.{self.verdict}"


def check_comment(text: str) -> str:
    if _CONTROL.search(text):
        raise UsageError("--comment must be one line without control characters")
    if len(text) > 2000:
        raise UsageError("--comment is longer than 2000 characters")
    return text.strip()


def parse_statement(raw: bytes) -> Statement:
    """A statement from its bytes; they must be exactly the canonical form (ValueError)."""
    text = raw.decode("utf-8")
    lines = text.split("\n")
    if len(lines) != 8 or lines[0] != HEADER or lines[7] != "":
        raise ValueError("not a ckpt-approval v1 statement")
    keys = ("request", "request-sha256", "verdict", "principal", "signed-at", "comment")
    values: list[str] = []
    for key, line in zip(keys, lines[1:7], strict=True):
        prefix = f"{key}: "
        if not line.startswith(prefix):
            raise ValueError(f"line {key!r} missing")
        values.append(line[len(prefix):])
    if not _PRINCIPAL.match(values[3]):
        raise ValueError("the principal cannot name a statement file")
    st = Statement(values[0], values[1], values[2], values[3], int(values[4]), values[5])
    if st.verdict not in VERDICTS or not _PRINCIPAL.match(st.principal) \
            or st.payload() != raw or _CONTROL.search(st.comment):
        raise ValueError("not canonical")
    return st


# -- signing -----------------------------------------------------------------------------------
def public_key(key: str, root: Path) -> str:
    """``type base64`` of the public half of ``key`` (a path or ``key::…`` literal)."""
    value = key.strip().removeprefix("key::")
    if value.startswith(("ssh-", "ecdsa-", "sk-")):
        return " ".join(value.split()[:2])
    path = Path(value).expanduser()
    path = path if path.is_absolute() else root / path
    for pub in (path, path.with_name(path.name + ".pub"), path.with_suffix(".pub")):
        if pub.suffix == ".pub" and pub.is_file():
            return " ".join(pub.read_text().split()[:2])
    out = proc.output_or_none(["ssh-keygen", "-y", "-f", str(path)]) if path.is_file() else None
    if not out:
        raise UsageError(f"cannot read the SSH key {key!r}: pass --key PATH or set "
                         "'git config user.signingkey ~/.ssh/id_ed25519.pub'")
    return " ".join(out.split()[:2])


def principal_of(pub: str, signers_text: str, allowed: Sequence[str] = ()) -> str:
    """The principal the trusted allowed_signers gives this key (among ``allowed``)."""
    for line in signers_text.splitlines():
        fields = line.strip().split()
        if not fields or fields[0].startswith("#"):
            continue
        pairs = {f"{a} {b}" for a, b in zip(fields[1:], fields[2:], strict=False)}
        if pub in pairs:
            names = [n for n in fields[0].strip('"').split(",") if n and "*" not in n]
            names = [n for n in names if not allowed or n in allowed]
            if names:
                return names[0]
    who = ", ".join(allowed) if allowed else "anyone"
    raise IntegrityError(f"your key is not in the trusted {signing.SIGNERS_PATH} (allowed here: "
                         f"{who}): ask an admin to add it, or pass --key")


def sign(key: str, root: Path, statement: Statement) -> bytes:
    """A detached SSH signature of the statement by ``key`` (ssh-agent for a public key)."""
    with tempfile.TemporaryDirectory(prefix="ckpt-sign-") as tmp:
        keyfile = key.strip().removeprefix("key::")
        if keyfile.startswith(("ssh-", "ecdsa-", "sk-")):
            (Path(tmp) / "key.pub").write_text(keyfile + "\n")
            keyfile = str(Path(tmp) / "key.pub")
        elif not Path(keyfile).expanduser().is_absolute():
            keyfile = str(root / Path(keyfile).expanduser())
        done = proc.run_bytes(["ssh-keygen", "-q", "-Y", "sign", "-f",
                               str(Path(keyfile).expanduser()), "-n", NAMESPACE],
                              statement.payload())
    if done.returncode != 0 or b"BEGIN SSH SIGNATURE" not in done.stdout:
        lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
        why = lines[-1] if lines else "no output"
        raise IntegrityError(f"ssh-keygen could not sign with {key} ({why}): check --key or "
                             "'git config user.signingkey'")
    return done.stdout


# -- verifying ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class StatementCheck:
    path: str
    principal: str
    verdict: str
    signed_at: int
    comment: str
    key: str  # the fingerprint ssh-keygen reported
    problem: str | None  # why it does not count; None: verified

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "principal": self.principal, "verdict": self.verdict,
                "signed_at": _iso(self.signed_at), "comment": self.comment, "key": self.key,
                "verified": self.problem is None, "problem": self.problem}


@dataclass(frozen=True)
class ApprovalVerdict:
    request_id: str
    request_sha256: str
    required: int
    proposer: str | None  # the proposer whose signature verified
    approved_by: tuple[str, ...]
    rejected_by: tuple[tuple[str, str], ...]  # (principal, comment) still outstanding
    statements: tuple[StatementCheck, ...]
    problems: tuple[str, ...] = ()  # the request itself is not acceptable

    @property
    def missing(self) -> int:
        return max(0, self.required - len(self.approved_by))

    @property
    def ok(self) -> bool:
        return not self.reasons()

    def reasons(self) -> list[str]:
        out = list(self.problems)
        out += [f"rejected by {who}" + (f": {why}" if why else "")
                for who, why in self.rejected_by]
        if self.missing:
            ignored = [f"{s.principal} ({s.problem})" for s in self.statements
                       if s.problem and s.verdict == "approve"]
            out.append(f"{len(self.approved_by)} of {self.required} required signed approvals"
                       + (f"; not counted: {'; '.join(ignored)}" if ignored else ""))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"request": self.request_id, "sha256": self.request_sha256,
                "required": self.required, "approved_by": list(self.approved_by),
                "missing": self.missing, "proposer": self.proposer,
                "rejected_by": [{"principal": p, "comment": c} for p, c in self.rejected_by],
                "ok": self.ok, "problems": self.reasons(),
                "statements": [s.to_dict() for s in self.statements]}


@dataclass(frozen=True)
class TrustRoot:
    """Rules and signers from a trusted revision (or a server's trusted copy)."""

    config: Config
    signers: str
    revoked: str | None
    where: str = ""


def trust_at(git: Any, rev: str) -> TrustRoot:
    """The config and allowed_signers in force at ``rev`` (never the work tree): the trust
    files' history replayed from the root of trust (governance/trustroot), so a change no
    admin signed (a new approver, a lowered count) does not count."""
    from ckptgit import config
    from ckptgit.governance import trustroot

    root = trustroot.at(git, rev)
    raw_cfg = root.config_text
    cfg = config.parse(raw_cfg, f"trusted {config.CONFIG_PATH} at {rev[:12]}") if raw_cfg \
        else Config()
    return TrustRoot(cfg, root.signers, root.revoked, root.source)


def required(request: Request, rule: StageRule) -> int:
    """Approvals a request needs: the stage's count; a ratification at least one."""
    return max(1, rule.approvals) if request.action == "ratify" else rule.approvals


def verify_request(request: Request, files: Mapping[str, bytes], rule: StageRule,
                   trust: TrustRoot, not_after: int | None = None,
                   proposer_signed: bool = True) -> ApprovalVerdict:
    """Which signed statements beside ``request`` count, and whether it may go ahead.

    ``files`` are the approvals folder's files (path -> bytes); ``not_after`` bounds when
    statements may claim to have been signed (the tag's date for a promotion already made).
    A ratification's proposer is the responder who signed the emergency tag, so it has no
    signed proposal (``proposer_signed=False``).
    """
    checks = [_check(path, files, request, trust, rule, not_after)
              for path in sorted(files) if not path.endswith(".sig")]
    problems = []
    proposal = [c for c in checks if c.verdict == "propose" and c.problem is None
                and c.principal == request.proposer]
    if proposer_signed and not proposal:
        problems.append(f"the request is not signed by its proposer {request.proposer} "
                        "(approvals/PROPOSER.propose)")
    latest: dict[str, StatementCheck] = {}
    for c in sorted(checks, key=lambda c: c.signed_at):
        if c.problem is None and c.verdict in ("approve", "reject"):
            latest[c.principal] = c
    approved, rejected, keys = [], [], set()
    for who, c in sorted(latest.items()):
        if c.verdict == "reject":
            rejected.append((who, c.comment))
        elif who == request.proposer and not rule.proposer_counts:
            checks[checks.index(c)] = _mark(c, "the proposer's own approval (self-approval)")
        elif c.key in keys:
            checks[checks.index(c)] = _mark(c, "a key already counted for another principal")
        else:
            keys.add(c.key)
            approved.append(who)
    return ApprovalVerdict(request.id, request.sha256, required(request, rule),
                           proposal[0].principal if proposal else None, tuple(approved),
                           tuple(rejected), tuple(checks), tuple(problems))


def _mark(c: StatementCheck, why: str) -> StatementCheck:
    return StatementCheck(c.path, c.principal, c.verdict, c.signed_at, c.comment, c.key, why)


def _check(path: str, files: Mapping[str, bytes], request: Request, trust: TrustRoot,
           rule: StageRule, not_after: int | None) -> StatementCheck:
    try:
        st = parse_statement(files[path])
    except (ValueError, UnicodeDecodeError, IntegrityError) as exc:
        return StatementCheck(path, "?", "?", 0, "", "", f"not a signed statement ({exc})")

    def bad(why: str, key: str = "") -> StatementCheck:
        return StatementCheck(path, st.principal, st.verdict, st.signed_at, st.comment, key, why)

    if st.request_id != request.id:
        return bad(f"signed for another request ({st.request_id})")
    if st.request_sha256 != request.sha256:
        return bad("signed over other request bytes (the request changed after it was signed)")
    if st.signed_at < request.created_at - SKEW:
        return bad("dated before the request was made")
    if not_after is not None and st.signed_at > not_after + SKEW:
        return bad("dated after the promotion")
    sig = files.get(path + ".sig")
    if sig is None:
        return bad("no signature file beside it")
    allowed = () if st.verdict == "propose" else rule.approvers
    if allowed and st.principal not in allowed:
        return bad(f"{st.principal} may not approve {request.stage} (approvers: "
                   f"{', '.join(allowed)})")
    ok, key, why = verify_signature(st, sig, trust, allowed)
    if not ok:
        return bad(why, key)
    return StatementCheck(path, st.principal, st.verdict, st.signed_at, st.comment, key, None)


def verify_signature(st: Statement, sig: bytes, trust: TrustRoot,
                     allowed: Sequence[str]) -> tuple[bool, str, str]:
    """(verified, key fingerprint, why not) for one statement, by its exit code."""
    when = datetime.fromtimestamp(st.signed_at, UTC).strftime("%Y%m%d%H%M%SZ")
    with signing.trust_files(trust.signers, trust.revoked, allowed) as (signers, revoked), \
            tempfile.NamedTemporaryFile(suffix=".sig") as sigfile:
        sigfile.write(sig)
        sigfile.flush()
        argv = ["ssh-keygen", "-Y", "verify", "-f", str(signers), "-I", st.principal,
                "-n", NAMESPACE, "-s", sigfile.name, "-O", f"verify-time={when}"]
        if revoked is not None:
            argv += ["-r", str(revoked)]
        done = proc.run_bytes(argv, st.payload())
        text = (done.stdout + done.stderr).decode("utf-8", "replace")
        found = _FINGERPRINT.search(text)
        key = found.group(1) if found else ""
        if done.returncode == 0:
            return True, key, ""
        return False, key, _diagnose(argv, st, sig, text, allowed)


def _diagnose(argv: list[str], st: Statement, sig: bytes, text: str,
              allowed: Sequence[str]) -> str:
    """Why a verification failed: ssh-keygen often says only "Could not verify signature"."""
    if "-r" in argv:
        again = argv[:argv.index("-r")]
        if _run_with_sig(again, st, sig) == 0:
            return "signed by a revoked key (listed in .ckpt/revoked_signers)"
    genuine = _run_with_sig(["ssh-keygen", "-Y", "check-novalidate", "-n", NAMESPACE, "-s"],
                            st, sig) == 0
    if genuine and "namespace" not in text.lower():
        return (f"signed by a key that is not {st.principal}'s key valid at "
                f"{_iso(st.signed_at)} in the trusted allowed_signers")
    return _why(text, st, allowed)


def _run_with_sig(argv: list[str], st: Statement, sig: bytes) -> int:
    """Exit code of ``argv`` with the signature file appended after ``-s``."""
    with tempfile.NamedTemporaryFile(suffix=".sig") as sigfile:
        sigfile.write(sig)
        sigfile.flush()
        args = list(argv)
        if args[-1] == "-s":
            args.append(sigfile.name)
        else:
            args[args.index("-s") + 1] = sigfile.name
        return proc.run_bytes(args, st.payload()).returncode


def _why(text: str, st: Statement, allowed: Sequence[str]) -> str:
    low = text.lower()
    if "revoked" in low:
        return "signed by a revoked key"
    if "expired" in low or "not yet valid" in low or "valid-" in low:
        return f"the key of {st.principal} was not valid at {_iso(st.signed_at)}"
    if "namespace" in low:
        return (f"{st.principal}'s allowed_signers line lacks namespace {NAMESPACE} "
                f'(namespaces="git,{NAMESPACE}")')
    if "no principal matched" in low or "unable to find" in low or "not found" in low \
            or "allowed" in low:
        return f"not signed by a key of {st.principal} allowed here"
    last = [ln for ln in text.splitlines() if ln.strip()]
    return f"bad signature ({last[-1] if last else 'ssh-keygen failed'})"


def _iso(when: int) -> str:
    return datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def digest(data: Any) -> str:
    """sha256 of a JSON rendering (sorted keys): how requests record gate and check results."""
    import json

    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


@dataclass
class Loaded:
    """A request read at one revision with its statements and the verdict on them."""

    request: Request
    rev: str
    files: dict[str, bytes] = field(default_factory=dict)


def load(git: Any, rev: str, rid: str) -> Loaded:
    request = requests.load_at(git, rev, rid)
    if request is None:
        raise UsageError(f"request {rid} is not in {rev[:12]}")
    if request.id != rid:
        raise IntegrityError(f"{requests.request_path(rid)} says it is request {request.id}")
    return Loaded(request, rev, requests.statements_at(git, rev, rid))
