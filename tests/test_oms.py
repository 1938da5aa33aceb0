"""OMS signatures written by ``git ckpt sign`` and checked by the real ``model-signing`` package."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import Repo, write_model

model_signing = pytest.importorskip("model_signing")


def _ecdsa(tmp_path: Path) -> Path:
    key = tmp_path / "id_ecdsa"
    subprocess.run(["ssh-keygen", "-q", "-t", "ecdsa", "-b", "256", "-N", "", "-f", str(key)],
                   check=True)
    return key


def _pem_public(key: Path, tmp_path: Path) -> Path:
    from cryptography.hazmat.primitives import serialization

    pub = serialization.load_ssh_public_key(key.with_suffix(".pub").read_bytes())
    out = tmp_path / "pub.pem"
    out.write_bytes(pub.public_bytes(serialization.Encoding.PEM,
                                     serialization.PublicFormat.SubjectPublicKeyInfo))
    return out


def test_signature_verifies_with_model_signing_alone(repo: Repo, tmp_path: Path) -> None:
    repo.model(seed=4)
    saved = repo.save()
    key = _ecdsa(tmp_path)
    res = repo.ckpt_ok("sign", "clf", "--key", str(key), "--json").json()
    sig = repo.path / "models/clf.safetensors.sig"
    assert res["signature"] == "models/clf.safetensors.sig" and sig.is_file()
    assert repo.git("log", "-1", "--format=%(trailers:key=Ckpt-Id,valueonly)").strip() == \
        saved["id"]
    # an outsider: the artifact file, the signature, the public key, and model-signing
    model_signing.verifying.Config().use_elliptic_key_verifier(
        public_key=_pem_public(key, tmp_path)).verify(repo.path / "models/clf.safetensors", sig)
    assert repo.ckpt("verify", "--oms", "--key", str(key) + ".pub").code == 0
    assert repo.ckpt("verify", "--all").code == 0  # a signature commit is not a record edit


def test_tampered_bytes_fail_model_signing(repo: Repo, tmp_path: Path) -> None:
    repo.model(seed=4)
    repo.save()
    key = _ecdsa(tmp_path)
    repo.ckpt_ok("sign", "clf", "--key", str(key))
    repo.model(seed=5)
    repo.save()  # newer bytes, signed by nobody
    res = repo.ckpt("verify", "--oms", "--key", str(key) + ".pub")
    assert res.code == 3 and "OMS signature models/clf.safetensors.sig does not verify" in res.out


def test_unsigned_extra_files_are_named(repo: Repo, tmp_path: Path) -> None:
    for i in range(2):
        write_model(repo.path / "out/enc" / f"part{i}.safetensors", seed=i)
    repo.save("out/enc", "enc")
    key = _ecdsa(tmp_path)
    repo.ckpt_ok("sign", "enc", "--key", str(key))
    (repo.path / "out/enc/extra.bin").write_bytes(b"not signed")
    repo.save("out/enc", "enc")
    res = repo.ckpt("verify", "enc", "--oms", "--key", str(key) + ".pub")
    assert res.code == 3
    assert "extra.bin" in res.out, res.out


def test_ed25519_is_refused_with_the_reason(repo: Repo, tmp_path: Path) -> None:
    repo.model(seed=4)
    repo.save()
    key = tmp_path / "ed"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    res = repo.ckpt("sign", "clf", "--key", str(key))
    assert res.code == 2 and "elliptic-curve keys only" in res.err
