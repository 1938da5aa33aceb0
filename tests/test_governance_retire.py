"""``git ckpt unassign`` and ``deprecate``: signed ``NAME#STAGE!#N`` and ``NAME@deprecated#N``
tags that GTO reads, under the policy, with the manifest following, and accepted by the
server's pre-receive."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import BIN, Repo, make_repo
from governance_fixtures import Keys, bare_remote, govern, push, tag_body


@pytest.fixture
def held(tmp_path: Path, keys: Keys) -> tuple[Repo, dict]:
    """clf saved, registered as v1.0.0 and promoted through dev and staging into canary."""
    repo = make_repo(tmp_path)
    govern(repo, keys)
    repo.model()
    saved = repo.save("models/clf.safetensors", "clf")
    repo.ckpt_ok("promote", "clf", "--stage", "dev", "--rationale", "good", "--version",
                 "v1.0.0")
    repo.ckpt_ok("promote", "clf", "--stage", "staging", "--rationale", "good")
    from governance_fixtures import signed

    res = signed(repo, keys, "clf", "--stage", "canary", "--rationale", "good",
                 approvers=("bob",))
    assert res.code == 0, res.err
    return repo, saved


def _holders(repo: Repo) -> set[tuple[str, str]]:
    return {(r["name"], r["stage"]) for r in repo.ckpt_ok("stages", "--json").json()["holders"]}


def test_unassign_clears_the_stage_for_us_and_for_gto(held: tuple[Repo, dict]) -> None:
    repo, saved = held
    res = repo.ckpt_ok("unassign", "clf", "--stage", "staging", "--rationale",
                       "staging moves to clf-v2", "--json")
    out = res.json()
    assert out["tag"] == "clf#staging!#4" and out["ends"] == "clf#staging#2"
    assert out["id"] == saved["id"] and out["action"] == "unassign"
    assert "warning" not in res.err  # a registered version: GTO applies it too
    body = tag_body(repo.path, "clf#staging!#4")
    assert "Ckpt-Action: unassign" in body and "Rationale: staging moves to clf-v2" in body
    assert repo.git("rev-parse", "clf#staging!#4^{commit}").strip() == saved["commit"]
    assert _holders(repo) == {("clf", "dev"), ("clf", "canary")}
    shown = json.loads(subprocess.run([f"{BIN}/gto", "show", "--json"], cwd=repo.path,
                                      capture_output=True, text=True, check=True).stdout)
    assert set(shown["clf"]["stage"]) == {"dev", "canary"}
    manifest = (repo.path / "deploy" / "staging.yaml").read_text()
    assert "clf" not in manifest.split("artifacts:", 1)[1]
    assert repo.git("status", "--porcelain", "deploy") == ""
    history = repo.ckpt_ok("history", "clf", "--json").json()
    assert history[-1]["tag"] == "clf#staging!#4" and history[-1]["action"] == "unassign"
    assert repo.ckpt("verify", "--all").code == 0
    audit = repo.ckpt_ok("audit", "clf", "--format", "json").json()
    assert [e["status"] for e in audit["events"] if e["action"] == "unassign"] == ["ok"]
    # promoting again assigns the stage anew
    repo.ckpt_ok("promote", "clf", "--stage", "staging", "--rationale", "back")
    assert ("clf", "staging") in _holders(repo)


def test_unassign_follows_the_stage_policy(held: tuple[Repo, dict]) -> None:
    repo, _ = held
    before = set(repo.git("tag", "-l").split())
    refused = repo.ckpt("unassign", "clf", "--stage", "canary", "--rationale", "withdrawn")
    assert refused.code == 4 and "accepts only signed approvals" in refused.err
    nothing = repo.ckpt("unassign", "clf", "--stage", "production", "--rationale", "x",
                        "--approved-by", "a@x", "--approved-by", "b@x")
    assert nothing.code == 2 and "holds nothing: there is nothing to unassign" in nothing.err
    unknown = repo.ckpt("unassign", "clf", "--stage", "qa", "--rationale", "x")
    assert unknown.code == 2 and "not in .ckpt/config.yaml" in unknown.err
    repo.model(seed=5)
    repo.save("models/clf.safetensors", "clf")
    repo.ckpt_ok("promote", "clf", "--stage", "dev", "--rationale", "unregistered",
                 "--no-version")
    res = repo.ckpt_ok("unassign", "clf", "--stage", "dev", "--rationale", "x")
    assert "warning: gto show will still list dev for clf" in res.err
    repo.ckpt_ok("promote", "clf", "--stage", "dev", "--rationale", "again", "--no-version")
    repo.ckpt_ok("lock", "dev", "--rationale", "release freeze")
    locked = repo.ckpt("unassign", "clf", "--stage", "dev", "--rationale", "x")
    assert locked.code == 4 and "is locked" in locked.err
    made = set(repo.git("tag", "-l").split()) - before
    assert made == {"clf#dev#4", "clf#dev!#5", "clf#dev#6", "ckpt/lock/dev/1"}
    out = repo.ckpt_ok("unassign", "clf", "--stage", "dev", "--rationale", "x", "--override",
                       "--json").json()
    assert "Override: lock ckpt/lock/dev/1" in tag_body(repo.path, out["tag"])


def test_the_server_accepts_a_signed_unassignment_and_refuses_a_bare_one(
        held: tuple[Repo, dict], tmp_path: Path) -> None:
    repo, saved = held
    bare_remote(repo, tmp_path)
    assert push(repo, "main", "--tags").returncode == 0
    repo.ckpt_ok("unassign", "clf", "--stage", "dev", "--rationale", "retired")
    repo.ckpt_ok("deprecate", "clf", "--rationale", "replaced")
    done = push(repo, "--tags")
    assert done.returncode == 0, done.stderr
    # an unassignment made by hand, without approvals for canary, is refused by pre-receive
    message = (f"unassign by hand\n\nCkpt-Action: unassign\nCkpt-Id: {saved['id']}\n"
               f"Ckpt-Stage: canary\nRationale: quietly\n")
    subprocess.run(["git", "tag", "-s", "-F", "-", "clf#canary!#9", saved["commit"]],
                   cwd=repo.path, input=message, text=True, check=True, capture_output=True)
    refused = subprocess.run(["git", "push", "--no-verify", "origin", "clf#canary!#9"],
                             cwd=repo.path, capture_output=True, text=True, check=False)
    assert refused.returncode != 0 and "this stage needs 1" in refused.stderr


def _gto_show(repo: Repo) -> dict:
    done = subprocess.run([f"{BIN}/gto", "show", "--json"], cwd=repo.path, capture_output=True,
                          text=True, check=True)
    return dict(json.loads(done.stdout))


def test_deprecate_retires_a_name_until_an_overriding_promotion(held: tuple[Repo, dict]) -> None:
    repo, saved = held
    assert "clf" in _gto_show(repo)
    out = repo.ckpt_ok("deprecate", "clf", "--rationale", "replaced by clf2", "--json").json()
    assert out["tag"] == "clf@deprecated#4" and out["id"] == saved["id"]
    assert repo.git("rev-parse", "clf@deprecated#4^{commit}").strip() == saved["commit"]
    body = tag_body(repo.path, out["tag"])
    assert "Ckpt-Action: deprecate" in body and "Rationale: replaced by clf2" in body
    assert "clf" not in _gto_show(repo)  # GTO hides a deprecated artifact
    stages = repo.ckpt_ok("stages", "--json").json()
    assert stages["deprecated"] == {"clf": "clf@deprecated#4"}
    assert all(r["deprecated"] for r in stages["holders"])  # its stages still serve
    assert "clf (deprecated)" in repo.ckpt_ok("stages").out
    again = repo.ckpt("deprecate", "clf", "--rationale", "twice")
    assert again.code == 2 and "already deprecated (clf@deprecated#4)" in again.err
    assert repo.ckpt("verify", "--all").code == 0
    audit = repo.ckpt_ok("audit", "clf", "--format", "json").json()
    assert [e["status"] for e in audit["events"] if e["action"] == "deprecate"] == ["ok"]
    repo.model(seed=3)
    repo.save("models/clf.safetensors", "clf")
    refused = repo.ckpt("promote", "clf", "--stage", "dev", "--rationale", "x")
    assert refused.code == 4 and "clf is deprecated (clf@deprecated#4)" in refused.err
    back = repo.ckpt_ok("promote", "clf", "--stage", "dev", "--rationale", "revived",
                        "--override", "--json").json()
    assert "Override: deprecation clf@deprecated#4" in tag_body(repo.path, back["tag"])
    assert repo.ckpt_ok("stages", "--json").json()["deprecated"] == {}
    assert "clf" in _gto_show(repo)


def test_deprecate_needs_a_known_name_and_a_reason(held: tuple[Repo, dict]) -> None:
    repo, _ = held
    unknown = repo.ckpt("deprecate", "nope", "--rationale", "x")
    assert unknown.code == 2 and "no checkpoint is named 'nope'" in unknown.err
    blank = repo.ckpt("deprecate", "clf", "--rationale", "  ")
    assert blank.code == 2 and "--rationale must say why" in blank.err
    assert "deprecated" not in repo.git("tag", "-l")
