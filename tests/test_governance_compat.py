"""Our tags read by the real GTO and DVC: ``gto show``, ``gto history``, ``dvc artifacts get``."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest
from conftest import BIN, Repo, make_repo
from governance_fixtures import Keys, govern


def run(cwd: Path, *args: str) -> str:
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_gto_and_dvc_read_our_promotions_and_reverts(tmp_path: Path, keys: Keys) -> None:
    repo: Repo = make_repo(tmp_path)
    govern(repo, keys)
    repo.model(seed=1)
    v1 = repo.save("models/clf.safetensors", "clf")
    v1_sha = hashlib.sha256((repo.path / "models/clf.safetensors").read_bytes()).hexdigest()
    repo.ckpt_ok("promote", v1["id"], "--stage", "dev", "--rationale", "v1", "--version",
                 "v1.0.0")
    repo.model(seed=2)
    v2 = repo.save("models/clf.safetensors", "clf")
    repo.ckpt_ok("promote", v2["id"], "--stage", "dev", "--rationale", "v2")
    repo.ckpt_ok("revert", "clf", "--stage", "dev", "--to", v1["id"], "--rationale", "bad v2")
    shown = json.loads(run(repo.path, f"{BIN}/gto", "show", "--json"))
    assert shown["clf"]["stage"] == {"dev": "v1.0.0"}  # the revert is what GTO sees now
    assert shown["clf"]["version"] == "v1.0.1"  # v2 was registered by default, patch bumped
    history = json.loads(run(repo.path, f"{BIN}/gto", "history", "clf", "--json"))
    assigned = {h["ref"]: h["commit"] for h in history if h["event"] == "assignment"}
    assert assigned == {"clf#dev#1": v1["commit"], "clf#dev#2": v2["commit"],
                        "clf#dev#3": v1["commit"]}
    revert = next(h for h in history if h["ref"] == "clf#dev#3")
    assert "Reverts: clf#dev#2" in revert["message"]
    ours = repo.ckpt_ok("history", "clf", "--json").json()
    assert {e["tag"] for e in ours} == {h["ref"] for h in history}
    out = tmp_path / "fetched.safetensors"
    run(repo.path, f"{BIN}/dvc", "artifacts", "get", ".", "clf", "--stage", "dev", "-o", str(out))
    assert hashlib.sha256(out.read_bytes()).hexdigest() == v1_sha


def test_default_version_lets_gto_and_dvc_work_without_one(tmp_path: Path, keys: Keys) -> None:
    repo: Repo = make_repo(tmp_path)
    govern(repo, keys)
    repo.model(seed=1)
    v1 = repo.save("models/clf.safetensors", "clf")
    first = repo.ckpt_ok("promote", "clf", "--stage", "dev", "--rationale", "v1", "--json")
    assert first.json()["version_tag"] == "clf@v0.0.1"
    again = repo.ckpt_ok("promote", "clf", "--stage", "staging", "--rationale", "same", "--json")
    assert again.json()["version_tag"] is None  # this checkpoint has its version already
    repo.model(seed=2)
    repo.save("models/clf.safetensors", "clf")
    none = repo.ckpt_ok("promote", "clf", "--stage", "dev", "--rationale", "x", "--no-version",
                        "--json")
    assert none.json()["version_tag"] is None
    both = repo.ckpt("promote", "clf", "--stage", "dev", "--rationale", "x", "--no-version",
                     "--version", "v9.0.0")
    assert both.code == 2
    shown = json.loads(run(repo.path, f"{BIN}/gto", "show", "--json"))
    assert shown["clf"]["version"] == "v0.0.1"
    out = tmp_path / "latest.safetensors"
    run(repo.path, f"{BIN}/dvc", "artifacts", "get", ".", "clf", "-o", str(out))
    assert hashlib.sha256(out.read_bytes()).hexdigest() == v1["artifact"]["sha256"]


@pytest.mark.parametrize("tag", ["clf#prod#3", "clf#prod!#4", "clf@v1.2.3", "clf@v1.2.3!",
                                 "clf@deprecated#5", "my-model_2#canary#12"])
def test_our_tag_grammar_is_gtos(tag: str) -> None:
    """Every event tag kind parses the same in ckptgit and in GTO's own parser."""
    from gto.tag import parse_name

    from ckptgit import tags

    ours, theirs = tags.parse(tag), parse_name(tag)
    assert ours is not None
    assert ours.kind == theirs["action"].value
    assert ours.name == theirs["name"] and ours.stage == theirs.get("stage")
    assert ours.version == theirs.get("version") and ours.number == theirs.get("counter")
