"""OMS signature commits (``git ckpt sign``) as chain-of-custody events, checked offline.

Each ``PATH.sig`` that ``sign`` commits is an OpenSSF model-signing bundle: an in-toto statement
of per-file sha256 digests in a DSSE envelope, plus the sha256 of the signer's PEM public key as
a hint. The audit checks it without the bytes and without the model-signing package: the
statement must cover exactly the sealed bytes of the checkpoint its commit names (the file's
digest, or the directory seal rebuilt from the per-file digests), and the signature must hold
for the key in ``.ckpt/allowed_signers`` whose hint it carries (that line's principals are the
signer), a key not listed in ``.ckpt/revoked_signers``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ckptgit import hashing, loader
from ckptgit.errors import CkptError, UsageError
from ckptgit.git import separators
from ckptgit.model import Checkpoint
from ckptgit.repo import Repo

SUFFIX = ".sig"  # the OMS bundle of PATH is committed as PATH.sig
PAYLOAD_TYPE = "application/vnd.in-toto+json"


@dataclass
class Signature:
    """One committed OMS signature and what the audit found about it."""

    commit: str
    path: str  # PATH.sig
    ckpt_id: str  # from the commit's Ckpt-Id trailer
    name: str  # the checkpoint's name, when it is known
    who: str  # the commit's author: who ran 'git ckpt sign'
    when: int  # author date, unix seconds
    key: str = ""  # "sha256:<hint>": the fingerprint model-signing records
    signer: str = ""  # principals of the allowed_signers line with that key
    problems: list[str] = field(default_factory=list)
    unverifiable: str = ""  # why the signature itself could not be checked

    @property
    def status(self) -> str:
        if self.problems:
            return "failed"
        return "unverifiable" if self.unverifiable else "ok"


def read(repo: Repo, name: str | None = None) -> list[Signature]:
    """Every signature commit reachable from HEAD (oldest first), each judged."""
    if repo.git.head() is None:
        return []
    by_id = {c.id: c for c in repo.checkpoints()}
    found = _log(repo)
    for s in found:
        if s.ckpt_id in by_id:
            s.name = by_id[s.ckpt_id].name
    if name is not None:
        found = [s for s in found if s.name == name]
    blobs = repo.git.cat_files([f"{s.commit}:{s.path}" for s in found])
    trusted, revoked = _trust(repo)
    for s in found:
        _judge(s, blobs.get(f"{s.commit}:{s.path}"), by_id.get(s.ckpt_id), trusted, revoked)
    return found


def _log(repo: Repo) -> list[Signature]:
    field, record = separators()
    fmt = f"{record}%H{field}%an <%ae>{field}%at{field}%(trailers:key=Ckpt-Id,valueonly){field}"
    text = repo.git.out(["log", "--reverse", "--no-merges", f"--format={fmt}", "--name-only",
                         "-z", "--no-renames", "--grep=^Ckpt-Action: sign$", "HEAD", "--"])
    out = []
    for rec in text.split(record)[1:]:
        commit, who, when, ckpt_id, names = rec.split(field, 4)
        sigs = [n.strip("\n") for n in names.split("\0") if n.strip("\n").endswith(SUFFIX)]
        for path in sigs:
            out.append(Signature(commit, path, ckpt_id.strip(), "?", who, int(when)))
    return out


# -- keys --------------------------------------------------------------------------------------
def _trust(repo: Repo) -> tuple[dict[str, tuple[str, Any]], set[str]]:
    """Hint -> (principals, EC public key) of every EC key trusted by the repo, and the hints
    of revoked keys."""
    from ckptgit.governance import tagsigning

    try:
        signers_text, revoked_text = tagsigning.repo_trust(repo.root)
    except CkptError:
        signers_text, revoked_text = "", None
    trusted = {hint: (principals, key) for principals, key, hint in _keys(signers_text)}
    revoked = {hint for _, _, hint in _keys(revoked_text or "", principals=False)}
    return trusted, revoked


def _keys(text: str, principals: bool = True) -> Iterator[tuple[str, Any, str]]:
    """(principals, key, hint) for each elliptic-curve key of an allowed_signers file (or, with
    ``principals=False``, of a revoked-keys file); other key types cannot have made a
    model-signing signature."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from ckptgit.governance import allowed_signers

    if principals:
        keys = [(",".join(s.principals), s.key) for s in allowed_signers.signers(text)]
    else:
        keys = [("", k) for k in allowed_signers.public_keys(text)]
    for who, text_key in keys:
        if not text_key.startswith("ecdsa-sha2-"):
            continue
        try:
            key = serialization.load_ssh_public_key(text_key.encode())
        except (ValueError, TypeError):
            continue
        if isinstance(key, ec.EllipticCurvePublicKey):
            pem = key.public_bytes(serialization.Encoding.PEM,
                                   serialization.PublicFormat.SubjectPublicKeyInfo)
            yield who, key, hashlib.sha256(pem).hexdigest()


# -- judging one bundle ------------------------------------------------------------------------
def _judge(s: Signature, raw: bytes | None, ckpt: Checkpoint | None,
           trusted: dict[str, tuple[str, Any]], revoked: set[str]) -> None:
    if raw is None:
        s.problems.append(f"commit {s.commit[:12]} lacks {s.path}")
        return
    try:
        hint, payload, sig, statement = _parse(raw, s.path)
    except loader.LimitError as exc:  # too big or too deep: say which limit, not a crash
        s.problems.append(str(exc))
        return
    except (UsageError, ValueError, KeyError, IndexError, TypeError, binascii.Error) as exc:
        s.problems.append(f"{s.path} is not a model-signing bundle ({type(exc).__name__})")
        return
    s.key = f"sha256:{hint}"
    if ckpt is None:
        s.problems.append(f"signs checkpoint {s.ckpt_id or '(none named)'}, which is not "
                          "reachable from HEAD")
    else:
        s.problems += _coverage(statement, ckpt)
    if hint in revoked:
        s.problems.append(f"signed by a revoked key ({s.key[:23]}…)")
    elif hint in trusted:
        s.signer, key = trusted[hint]
        if not _holds(key, payload, sig):
            s.problems.append(f"the signature in {s.path} does not verify with {s.signer}'s key")
    else:
        s.unverifiable = (f"signed by key {s.key[:23]}…, which is not in .ckpt/allowed_signers "
                          "(add its public key there to have it checked)")


def _parse(raw: bytes, path: str) -> tuple[str, bytes, bytes, dict[str, Any]]:
    bundle = loader.load_json(raw, path)
    hint = str(bundle["verificationMaterial"]["publicKey"]["hint"])
    envelope = bundle["dsseEnvelope"]
    if envelope.get("payloadType") != PAYLOAD_TYPE:
        raise ValueError("not an in-toto payload")
    payload = base64.b64decode(envelope["payload"], validate=True)
    sig = base64.b64decode(envelope["signatures"][0]["sig"], validate=True)
    statement = loader.load_json(payload, f"the statement in {path}")
    if not isinstance(statement, dict):
        raise TypeError("statement is not an object")
    return hint, payload, sig, statement


def _coverage(statement: dict[str, Any], ckpt: Checkpoint) -> list[str]:
    """The signed digests must rebuild the checkpoint's seal: same files, same bytes."""
    try:
        files = [(str(r["name"]), str(r["digest"])) for r in statement["predicate"]["resources"]
                 if r.get("algorithm", "sha256") == "sha256"]
    except (KeyError, TypeError):
        return ["the signed statement lists no files"]
    if len(files) == 1 and files[0][0] in (".", ""):
        got = files[0][1]
    else:
        got = hashing.directory_seal(files)
    if got == ckpt.sha256:
        return []
    return [f"the signed manifest does not cover the sealed bytes of {ckpt.name} "
            f"{ckpt.short_id} (sha256 {got[:16]}… != sealed {ckpt.sha256[:16]}…)"]


def _holds(key: Any, payload: bytes, sig: bytes) -> bool:
    """The DSSE signature: ECDSA over the pre-authentication encoding, hash sized to the curve."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    digest = {256: hashes.SHA256(), 384: hashes.SHA384(), 521: hashes.SHA512()}.get(
        key.curve.key_size)
    if digest is None:
        return False
    pae = f"DSSEv1 {len(PAYLOAD_TYPE)} {PAYLOAD_TYPE} {len(payload)} ".encode() + payload
    try:
        key.verify(sig, pae, ec.ECDSA(digest))
    except InvalidSignature:
        return False
    return True
