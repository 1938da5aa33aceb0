"""OpenSSF model-signing (OMS) manifests for checkpoints, through the ``model-signing`` package.

``git ckpt sign`` rehydrates the checkpoint's bytes (checked against the seal first), has
``model-signing`` write its signature bundle (an in-toto statement of per-file sha256 in a DSSE
envelope, signed with an elliptic-curve key) and commits it beside the checkpoint as
``PATH.sig``, so anyone can check the artifact with ``model_signing verify`` and no ckptgit.
``model-signing`` 1.1 verifies EC keys only (P-256/384/521): an SSH ``ecdsa`` key works, an
ed25519 key is refused with that reason.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from ckptgit.atomic import write_atomic
from ckptgit.errors import CkptError, ExternalError, UsageError
from ckptgit.integrity.findings import Finding
from ckptgit.integrity.omscheck import SUFFIX
from ckptgit.model import Checkpoint
from ckptgit.repo import Repo

TRAILERS = ("Ckpt-Action", "Ckpt-Id")


def signature_path(ckpt: Checkpoint) -> str:
    return ckpt.path + SUFFIX


def _model_signing() -> Any:
    try:
        import model_signing
    except ImportError as exc:
        raise UsageError("OMS signatures need the model-signing package: "
                         "pip install 'ckptgit[oms]'") from exc
    return model_signing


def _pem(key: Path, private: bool, tmp: Path) -> Path:
    """The key as PEM for model-signing; OpenSSH ecdsa keys are converted, others refused."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    raw = key.read_bytes()
    try:
        if private:
            loaded: Any = (serialization.load_ssh_private_key(raw, None) if b"OPENSSH" in raw
                           else serialization.load_pem_private_key(raw, None))
        else:
            loaded = (serialization.load_ssh_public_key(raw) if raw.startswith(b"ecdsa-") or
                      raw.startswith(b"ssh-") else serialization.load_pem_public_key(raw))
    except (ValueError, TypeError) as exc:
        raise UsageError(f"{key}: not a readable {'private' if private else 'public'} key "
                         f"({exc})") from exc
    public = loaded.public_key() if private else loaded
    if not isinstance(public, ec.EllipticCurvePublicKey):
        raise UsageError(f"{key}: model-signing verifies elliptic-curve keys only (P-256, "
                         "P-384, P-521); make one with 'ssh-keygen -t ecdsa -b 256'")
    out = tmp / ("key.pem" if private else "key.pub.pem")
    if private:
        out.write_bytes(loaded.private_bytes(serialization.Encoding.PEM,
                                             serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption()))
    else:
        out.write_bytes(public.public_bytes(serialization.Encoding.PEM,
                                            serialization.PublicFormat.SubjectPublicKeyInfo))
    return out


def _rehydrate(repo: Repo, ckpt: Checkpoint, tmp: Path) -> Path:
    """The checkpoint's bytes under ``tmp``, verified against the seal on the way."""
    from ckptgit.ops.restore import restore

    _, dest = restore(repo, ckpt.id, tmp / "model")
    return dest


def sign(repo: Repo, ref: str, key: Path) -> tuple[Checkpoint, str]:
    """Sign checkpoint ``ref``; returns it and the commit that adds its signature."""
    ms = _model_signing()
    ckpt = repo.resolve(ref)
    with tempfile.TemporaryDirectory(prefix="ckpt-sign-") as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "model").mkdir()
        pem = _pem(key, True, tmp)
        model = _rehydrate(repo, ckpt, tmp)
        bundle = tmp / "model.sig"
        try:
            ms.signing.Config().use_elliptic_key_signer(private_key=pem).sign(model, bundle)
        except (ValueError, OSError) as exc:
            raise ExternalError(f"model-signing could not sign {ckpt.path}: {exc}") from exc
        data = bundle.read_bytes()
    return ckpt, _commit(repo, ckpt, data)


def _commit(repo: Repo, ckpt: Checkpoint, data: bytes) -> str:
    git, rel = repo.git, signature_path(ckpt)
    head = git.head()
    message = (f"ckpt: sign {ckpt.name} ({ckpt.short_id}) with an OMS manifest\n\n"
               f"Ckpt-Action: sign\nCkpt-Id: {ckpt.id}\n")
    commit, blobs = git.commit_files(head, {rel: data}, message)
    if not git.update_ref(git.head_ref(), commit, head, f"ckpt: sign {ckpt.name}"):
        raise ExternalError("the branch moved while signing; nothing was recorded, sign again")
    git.stage_blobs(blobs)
    write_atomic(repo.root / rel, data)
    return commit


def verify_all(repo: Repo, targets: list[Checkpoint], public_key: str | None) -> list[Finding]:
    """Findings for each artifact path with a signature at HEAD: it must verify, with
    ``model-signing``, the newest checkpoint of that path among ``targets``."""
    newest: dict[str, Checkpoint] = {}
    for c in sorted(targets, key=lambda c: c.created_at):
        newest[c.path] = c
    found = []
    for path, ckpt in newest.items():
        raw = repo.git.show_file("HEAD", path + SUFFIX)
        if raw is None:
            continue
        try:
            problem = _verify_one(repo, ckpt, raw, public_key)
        except CkptError as exc:
            problem = str(exc)
        if problem:
            found.append(Finding(f"{ckpt.name} {ckpt.short_id}", "oms", problem))
    return found


def _verify_one(repo: Repo, ckpt: Checkpoint, bundle: bytes, public_key: str | None) -> str:
    ms = _model_signing()
    if public_key is None:
        raise UsageError("--oms needs the signer's public key: pass --key KEY.pub")
    signed_for = repo.git.out(["log", "-1", "--format=%(trailers:key=Ckpt-Id,valueonly)",
                               "HEAD", "--", ckpt.path + SUFFIX]).strip()
    with tempfile.TemporaryDirectory(prefix="ckpt-oms-") as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "model").mkdir()
        pem = _pem(Path(public_key), False, tmp)
        sig = tmp / "model.sig"
        sig.write_bytes(bundle)
        model = _rehydrate(repo, ckpt, tmp)
        try:
            ms.verifying.Config().use_elliptic_key_verifier(public_key=pem).verify(model, sig)
        except ValueError as exc:
            which = (f" (it was made for checkpoint {signed_for[:8]})"
                     if signed_for and signed_for != ckpt.id else "")
            return f"OMS signature {ckpt.path}{SUFFIX} does not verify{which}: {exc}"
    return ""
