"""OMS signatures in the chain of custody: made by the real ``model-signing``, judged offline."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import Repo

pytest.importorskip("model_signing")

SIG = "models/clf.safetensors.sig"


def _ecdsa(tmp_path: Path, name: str) -> Path:
    key = tmp_path / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ecdsa", "-b", "256", "-N", "", "-C", name, "-f",
                    str(key)], check=True)
    return key


def _trust(repo: Repo, key: Path, principal: str, file: str = "allowed_signers") -> None:
    kind, blob = key.with_suffix(".pub").read_text().split()[:2]
    path = repo.path / ".ckpt" / file
    old = path.read_text() if path.is_file() else ""
    line = f"{principal} {kind} {blob}\n" if file == "allowed_signers" else f"{kind} {blob}\n"
    path.write_text(old + line)
    repo.git("add", str(path))
    config = repo.path / ".ckpt" / "config.yaml"
    if file == "allowed_signers" and "admins: []" in config.read_text():
        # the root of trust names its admins
        config.write_text(config.read_text().replace("admins: []", f"admins: [{principal}]"))
        repo.git("add", str(config))
    repo.git("commit", "-q", "-m", f"{file}: {principal}")


def _signs(repo: Repo, *args: str) -> tuple[int, list[dict[str, Any]]]:
    res = repo.ckpt("audit", *args, "--format", "json")
    return res.code, [e for e in res.json()["events"] if e["action"] == "sign"]


@pytest.fixture
def signed(repo: Repo, tmp_path: Path) -> tuple[Repo, Path, str]:
    repo.model(seed=3)
    saved = repo.save()
    key = _ecdsa(tmp_path, "carol")
    _trust(repo, key, "carol@example.com")
    repo.ckpt_ok("sign", "clf", "--key", str(key))
    return repo, key, saved["id"]


def test_sign_event_names_who_when_and_key(signed: tuple[Repo, Path, str]) -> None:
    repo, key, ckpt_id = signed
    code, (event,) = _signs(repo, "clf")
    assert code == 0
    assert event["status"] == "ok" and event["problems"] == []
    assert event["who"] == "Ada Trainer <ada@example.com>" and event["signer"] == \
        "carol@example.com"
    assert event["id"] == ckpt_id and event["signature"] == SIG
    assert event["key"].startswith("sha256:") and len(event["key"]) == 7 + 64
    text = repo.ckpt_ok("audit").out
    assert "sign " in text and "(carol@example.com)" in text and "1 signatures" in text
    page = repo.ckpt_ok("audit", "--format", "html").out
    assert "<th>OMS signatures</th><td>1</td>" in page
    assert _signs(repo, "other")[1] == []


def test_key_nobody_trusts_is_unverifiable(repo: Repo, tmp_path: Path) -> None:
    repo.model(seed=3)
    repo.save()
    repo.ckpt_ok("sign", "clf", "--key", str(_ecdsa(tmp_path, "mallory")))
    code, (event,) = _signs(repo)
    assert code == 3 and event["status"] == "unverifiable"
    assert "not in .ckpt/allowed_signers" in event["problems"][0]


def test_revoked_key_fails(signed: tuple[Repo, Path, str]) -> None:
    repo, key, _ = signed
    path = repo.path / ".ckpt" / "revoked_signers"
    path.write_text(key.with_suffix(".pub").read_text())
    repo.git("add", str(path))
    # a change of the trust files counts only when an admin signs it (carol, with this key)
    repo.git("-c", "gpg.format=ssh", "-c", f"user.signingkey={key}", "commit", "-q", "-S",
             "-m", "revoke carol's key")
    code, (event,) = _signs(repo)
    assert code == 3 and event["status"] == "failed"
    assert "revoked key" in event["problems"][0]


def test_signature_moved_to_other_bytes_fails(signed: tuple[Repo, Path, str]) -> None:
    repo, _, _ = signed
    repo.model(seed=4)
    newer = repo.save()["id"]
    # the old bundle recommitted as if it signed the new checkpoint
    (repo.path / SIG).write_bytes((repo.path / SIG).read_bytes() + b"\n")
    repo.git("add", SIG)
    repo.git("commit", "-q", "-m", f"sign\n\nCkpt-Action: sign\nCkpt-Id: {newer}")
    code, events = _signs(repo)
    assert code == 3 and [e["status"] for e in events] == ["ok", "failed"]
    assert "does not cover the sealed bytes of clf" in events[1]["problems"][0]


def test_forged_manifest_fails_the_signature(signed: tuple[Repo, Path, str]) -> None:
    repo, _, ckpt_id = signed
    bundle = json.loads((repo.path / SIG).read_text())
    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    statement["predicate"]["serialization"]["allow_symlinks"] = True  # any change at all
    bundle["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    (repo.path / SIG).write_text(json.dumps(bundle))
    repo.git("add", SIG)
    repo.git("commit", "-q", "-m", f"sign\n\nCkpt-Action: sign\nCkpt-Id: {ckpt_id}")
    code, events = _signs(repo)
    assert code == 3 and events[1]["status"] == "failed"
    assert events[1]["problems"] == [f"the signature in {SIG} does not verify with "
                                     "carol@example.com's key"]
