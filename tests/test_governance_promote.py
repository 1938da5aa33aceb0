from __future__ import annotations

from pathlib import Path

import pytest
from conftest import Repo, make_repo
from governance_fixtures import Keys, govern, tag_body


@pytest.fixture
def gov(tmp_path: Path, keys: Keys) -> Repo:
    repo = make_repo(tmp_path)
    govern(repo, keys)
    return repo


def test_promote_creates_verified_signed_tag_with_trailers(gov: Repo) -> None:
    gov.model()
    saved = gov.save("models/clf.safetensors", "clf", "--metric", "acc=0.9")
    out = gov.ckpt_ok("promote", "clf", "--stage", "dev", "--rationale", "first model",
                      "--json").json()
    assert out["tag"] == "clf#dev#1"
    assert out["id"] == saved["id"] and out["commit"] == saved["commit"]
    body = tag_body(gov.path, "clf#dev#1")
    assert "Ckpt-Action: promote" in body and f"Ckpt-Id: {saved['id']}" in body
    assert "Rationale: first model" in body
    manifest = (gov.path / "deploy" / "dev.yaml").read_text()
    assert saved["id"] in manifest and "clf#dev#1" in manifest
    assert gov.git("status", "--porcelain", "deploy") == ""
    stages = gov.ckpt_ok("stages", "--json").json()
    assert [(r["name"], r["stage"], r["id"]) for r in stages["holders"]] == [
        ("clf", "dev", saved["id"])]


def test_name_gto_cannot_read_is_promoted_with_a_warning(gov: Repo) -> None:
    gov.model("models/bert.safetensors")
    gov.save("models/bert.safetensors", "bert.v2")
    res = gov.ckpt_ok("promote", "bert.v2", "--stage", "dev", "--rationale", "first")
    assert "warning: GTO cannot read the name 'bert.v2'" in res.err
    plain = gov.ckpt_ok("promote", "bert.v2", "--stage", "staging", "--rationale", "next")
    assert "GTO" in plain.err  # every time: it is a property of the name
    gov.model()
    gov.save("models/clf.safetensors", "clf")
    assert "GTO" not in gov.ckpt_ok("promote", "clf", "--stage", "dev", "--rationale", "x").err
