"""Promote through every stage, a reasoned staged rollback, sandboxes, locks, bad input."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from conftest import Repo, make_repo
from governance_fixtures import CONFIG, Keys, govern, tag_body

GATED = CONFIG.replace(
    "      protected: true\n",
    "      protected: true\n      gates:\n        - metric: metrics.acc >= 0.5\n"
    "        - command: python gates/check.py\n")
CHECK = """\
import hashlib, os, sys
path = os.environ["CKPT_PATH"]
assert os.environ["CKPT_STAGE"] == "production" and os.environ["CKPT_ID"]
data = open(path, "rb").read()
sys.exit(0 if data and os.path.exists("gates/check.py") else 1)
"""


@pytest.fixture
def gov(tmp_path: Path, keys: Keys) -> Repo:
    repo = make_repo(tmp_path)
    (repo.path / "gates").mkdir()
    (repo.path / "gates" / "check.py").write_text(CHECK)
    repo.git("add", "gates")
    govern(repo, keys, GATED)
    return repo


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def at(monkeypatch: pytest.MonkeyPatch, when: str) -> None:
    monkeypatch.setenv("GIT_COMMITTER_DATE", when)


def climb(repo: Repo, ref: str, keys: Keys) -> None:
    """dev and staging promoted directly; canary and production through signed requests."""
    from governance_fixtures import signed

    for stage in ("dev", "staging"):
        repo.ckpt_ok("promote", ref, "--stage", stage, "--rationale", f"{ref} to {stage}")
    for stage, approvers in (("canary", ("bob",)), ("production", ("bob", "carol"))):
        res = signed(repo, keys, ref, "--stage", stage, "--rationale", f"{ref} to {stage}",
                     approvers=approvers)
        assert res.code == 0, res.err


def test_full_staged_rollback(gov: Repo, keys: Keys, monkeypatch: pytest.MonkeyPatch) -> None:
    from governance_fixtures import signed

    model = gov.model(seed=1)
    v1 = gov.save("models/clf.safetensors", "clf", "--metric", "acc=0.8")
    good = sha(model)
    at(monkeypatch, "2030-01-01T10:00:00Z")
    climb(gov, v1["id"], keys)
    gov.model(seed=2)
    v2 = gov.save("models/clf.safetensors", "clf", "--metric", "acc=0.9")
    at(monkeypatch, "2030-01-02T10:00:00Z")
    climb(gov, v2["id"], keys)
    at(monkeypatch, "2030-01-03T10:00:00Z")
    canary = signed(gov, keys, "clf", "--stage", "canary", "--revert-to", v1["id"],
                    "--rationale", "p99 latency regression", approvers=("bob",)).json()
    assert canary["tag"] == "clf#canary#9" and canary["reverts"] == "clf#canary#7"
    assert canary["sandbox_report"] is None  # canary is not protected
    prod = signed(gov, keys, "clf", "--stage", "production", "--revert-to", "clf#canary",
                  "--rationale", "INC-1: roll back prod").json()
    assert prod["tag"] == "clf#production#10" and prod["reverts"] == "clf#production#8"
    assert prod["sandbox_report"] and [g["passed"] for g in prod["gates"]] == [True, True]
    body = tag_body(gov.path, "clf#production#10")
    assert "Ckpt-Action: revert" in body and "Reverts: clf#production#8" in body
    assert f"Sandbox-Report: sha256:{prod['sandbox_report']}" in body
    assert "Impact-Window: 2030-01-02T10:00:0" in body and "/2030-01-03T10:00:" in body
    assert (gov.path / ".ckpt" / "reports" / f"{prod['sandbox_report']}.json").is_file()
    assert sha(gov.path / "models" / "clf.safetensors") == good
    holders = {r["stage"]: r["id"] for r in gov.ckpt_ok("stages", "clf", "--json").json()[
        "holders"]}
    assert holders == {"dev": v2["id"], "staging": v2["id"], "canary": v1["id"],
                       "production": v1["id"]}
    then = gov.ckpt_ok("history", "clf", "--at", "2030-01-02T12:00:00Z", "--json").json()
    assert {r["stage"]: r["id"] for r in then["holders"]}["production"] == v2["id"]
    before = gov.ckpt_ok("history", "clf", "--stage", "production", "--at",
                         "2030-01-01T12:00:00Z", "--json").json()
    assert [r["id"] for r in before["holders"]] == [v1["id"]]
    events = gov.ckpt_ok("history", "clf", "--json").json()
    assert [e["action"] for e in events][-2:] == ["revert", "revert"]
    assert events[-1]["approved_by"] == ["bob@example.com", "carol@example.com"]
    assert events[-1]["signer"] == "alice@example.com"
    deploy = (gov.path / "deploy" / "production.yaml").read_text()
    assert v1["id"] in deploy and "clf#production#10" in deploy
    assert gov.git("status", "--porcelain", "deploy", ".ckpt") == ""
    assert gov.git("tag", "-l", "clf#*").split() == sorted(
        gov.git("tag", "-l", "clf#*").split())  # no tag moved or deleted: all 10 still there
    assert len(gov.git("tag", "-l", "clf#*").split()) == 10


def test_sandbox_gate_failure_leaves_workspace_untouched(gov: Repo, keys: Keys) -> None:
    from governance_fixtures import merged_request

    # v1 is saved from a tree whose gate script fails; the sandbox runs the target's own tree
    (gov.path / "gates" / "check.py").write_text("import sys\nsys.exit(7)\n")
    gov.git("commit", "-q", "-am", "a gate that fails")
    gov.model(seed=1)
    v1 = gov.save("models/clf.safetensors", "clf", "--metric", "acc=0.8")
    (gov.path / "gates" / "check.py").write_text(CHECK)
    gov.git("commit", "-q", "-am", "gate fixed")
    climb(gov, v1["id"], keys)  # promote gates run from the trusted tree, where the gate passes
    model = gov.model(seed=2)
    v2 = gov.save("models/clf.safetensors", "clf", "--metric", "acc=0.9")
    climb(gov, v2["id"], keys)
    current = sha(model)
    rid = merged_request(gov, keys, "clf", "--stage", "production", "--revert-to", v1["id"],
                         "--rationale", "roll back")
    tags_before = gov.git("tag", "-l")
    head_before = gov.git("rev-parse", "HEAD")
    res = gov.ckpt("promote", "--request", rid)
    assert res.code == 4, res.err
    assert "gate failed in the sandbox: command: python gates/check.py: exit 7" in res.err
    assert sha(model) == current
    assert gov.git("tag", "-l") == tags_before and gov.git("rev-parse", "HEAD") == head_before
    assert gov.git("status", "--porcelain") == ""
    assert gov.git("worktree", "list").count("\n") == 1


def test_lock_refuses_until_override_or_unlock(gov: Repo) -> None:
    gov.model()
    v1 = gov.save("models/clf.safetensors", "clf")
    gov.ckpt_ok("lock", "dev", "--rationale", "release freeze")
    res = gov.ckpt("promote", v1["id"], "--stage", "dev", "--rationale", "x")
    assert res.code == 4 and "locked (ckpt/lock/dev/1)" in res.err
    out = gov.ckpt_ok("promote", v1["id"], "--stage", "dev", "--rationale", "hotfix",
                      "--override", "--json").json()
    assert "Override: lock ckpt/lock/dev/1" in tag_body(gov.path, out["tag"])
    unlocked = gov.ckpt_ok("unlock", "dev", "--rationale", "freeze over", "--json").json()
    assert unlocked == {"action": "unlock", "stage": "dev", "tag": "ckpt/unlock/dev/2"}
    assert gov.ckpt("unlock", "dev", "--rationale", "again").code == 2
    assert gov.ckpt_ok("stages", "--json").json()["locked"] == {}


@pytest.mark.parametrize(("args", "code", "message"), [
    (("--stage", "dev", "--rationale", "  "), 2, "--rationale must say why"),
    (("--stage", "qa", "--rationale", "x"), 2, "stage 'qa' is not in .ckpt/config.yaml"),
    (("--stage", "staging", "--rationale", "x"), 4, "requires that dev held"),
    (("--stage", "dev", "--rationale", "a\nApproved-By: ceo"), 2, "one line"),
    (("--stage", "dev", "--rationale", "x", "--approved-by", "b\x07"), 2, "control"),
])
def test_promote_bad_input(gov: Repo, args: tuple[str, ...], code: int, message: str) -> None:
    gov.model()
    gov.save("models/clf.safetensors", "clf")
    res = gov.ckpt("promote", "clf", *args)
    assert res.code == code, res.err
    assert message in res.err
    assert gov.git("tag", "-l") == ""


def test_too_few_approvers_and_missing_key(gov: Repo) -> None:
    gov.model()
    gov.save("models/clf.safetensors", "clf")
    gov.ckpt_ok("promote", "clf", "--stage", "dev", "--rationale", "x")
    gov.ckpt_ok("promote", "clf", "--stage", "staging", "--rationale", "x")
    res = gov.ckpt("promote", "clf", "--stage", "canary", "--rationale", "x",
                   "--approved-by", "bob")
    assert res.code == 4 and "accepts only signed approvals" in res.err
    assert "git ckpt propose" in res.err
    gov.git("config", "--unset", "user.signingkey")
    res = gov.ckpt("propose", "clf", "--stage", "canary", "--rationale", "x")
    assert res.code == 2 and "user.signingkey" in res.err


def test_foreign_key_tag_is_deleted(gov: Repo, keys: Keys) -> None:
    from governance_fixtures import use_key

    gov.model()
    gov.save("models/clf.safetensors", "clf")
    use_key(gov.path, keys, "mallory")
    res = gov.ckpt("promote", "clf", "--stage", "dev", "--rationale", "x")
    assert res.code == 3 and "is not in .ckpt/allowed_signers" in res.err
    assert gov.git("tag", "-l") == ""


def test_signing_that_silently_fails_leaves_no_tag(gov: Repo) -> None:
    """A signing program that 'succeeds' without signing: git writes the tag unsigned, exit 0."""
    gov.model()
    gov.save("models/clf.safetensors", "clf")
    fake = gov.path.parent / "fakesign"
    fake.write_text('#!/bin/sh\nfor last; do :; done\n: > "$last.sig"\n')  # empty signature
    fake.chmod(0o755)
    gov.git("config", "gpg.ssh.program", str(fake))
    res = gov.ckpt("promote", "clf", "--stage", "dev", "--rationale", "x")
    assert res.code == 3, res.err
    assert "deleted" in res.err and "user.signingkey" in res.err
    assert gov.git("tag", "-l") == ""


def test_revert_refusals(gov: Repo) -> None:
    gov.model(seed=1)
    v1 = gov.save("models/clf.safetensors", "clf")
    res = gov.ckpt("revert", "clf", "--stage", "dev", "--to", v1["id"], "--rationale", "x")
    assert res.code == 2 and "holds nothing" in res.err
    gov.ckpt_ok("promote", v1["id"], "--stage", "dev", "--rationale", "x")
    gov.model(seed=2)
    v2 = gov.save("models/clf.safetensors", "clf")
    gov.ckpt_ok("promote", v2["id"], "--stage", "dev", "--rationale", "x")
    res = gov.ckpt("revert", "clf", "--stage", "dev", "--to", v1["id"], "--rationale", "x",
                   "--impact-window", "yesterday")
    assert res.code == 2 and "ISO 8601" in res.err
    # v1's cached bytes corrupted and the remote never had them: refused before any tag
    from ckptgit import storage

    obj = storage.object_path(gov.path, v1["artifact"]["md5"])
    obj.chmod(0o644)
    obj.write_bytes(b"corrupt")
    res = gov.ckpt("revert", "clf", "--stage", "dev", "--to", v1["id"], "--rationale", "x")
    assert res.code == 3 and "seal" in res.err, res.err
    obj.unlink()
    res = gov.ckpt("revert", "clf", "--stage", "dev", "--to", v1["id"], "--rationale", "x")
    assert res.code == 3 and "DVC remote" in res.err, res.err
    assert gov.git("tag", "-l", "clf#dev#3") == ""


def test_concurrent_promotions_never_collide(gov: Repo) -> None:
    ids = []
    for seed in range(3):
        gov.model(seed=seed)
        ids.append(gov.save("models/clf.safetensors", "clf")["id"])
    procs = [subprocess.Popen(["git", "ckpt", "promote", i, "--stage", "dev", "--rationale",
                               f"race {n}"], cwd=gov.path, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for n, i in enumerate(ids)]
    results = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in procs]
    # Every promotion lands: a racer that loses a tag name counts again and takes the next N.
    assert [code for code, _ in results] == [0, 0, 0], results
    tags = sorted(gov.git("tag", "-l", "clf#dev#*").split())
    assert tags == ["clf#dev#1", "clf#dev#2", "clf#dev#3"]
    # each also registered its own default version: drawn again when a racer took one
    assert sorted(gov.git("tag", "-l", "clf@v*").split()) == [
        "clf@v0.0.1", "clf@v0.0.2", "clf@v0.0.3"]
    bodies = {tag: tag_body(gov.path, tag) for tag in tags}
    assert all("Ckpt-Action: promote" in b for b in bodies.values())
    # one tag per checkpoint, none promoted twice or lost
    assert sorted(next(i for i in ids if f"Ckpt-Id: {i}" in b) for b in bodies.values()) \
        == sorted(ids)
    # the stage is held by whichever promotion drew the highest N
    held = gov.ckpt_ok("stages", "--json").json()["holders"]
    assert [(h["stage"], h["tag"]) for h in held] == [("dev", "clf#dev#3")]
    assert f"Ckpt-Id: {held[0]['id']}" in bodies["clf#dev#3"]


def _stopped(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0] == "T"


def test_a_promotion_that_loses_the_race_does_not_rewrite_the_manifest(gov: Repo) -> None:
    """A slower promotion whose tag is older must not leave the manifest naming it.

    A is suspended right after signing clf#dev#1 (its second tag: the version comes first);
    B then promotes fully (clf#dev#2) and writes the manifest; when A resumes, the stage is
    B's, and so is deploy/dev.yaml.
    """
    ids = []
    for seed in range(2):
        gov.model(seed=seed)
        ids.append(gov.save("models/clf.safetensors", "clf")["id"])
    env = {**os.environ, "CKPT_FAULT": "tagged:2", "CKPT_FAULT_SIGNAL": "STOP"}
    slow = subprocess.Popen(["git-ckpt", "promote", ids[0], "--stage", "dev", "--rationale",
                             "slow", "--json"], cwd=gov.path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not _stopped(slow.pid):
            assert slow.poll() is None, slow.communicate()
            assert time.monotonic() < deadline, "the slow promotion never reached its tag"
            time.sleep(0.05)
        assert gov.git("tag", "-l", "clf#dev#*").split() == ["clf#dev#1"]
        gov.ckpt_ok("promote", ids[1], "--stage", "dev", "--rationale", "fast")
    finally:
        os.kill(slow.pid, signal.SIGCONT)
    out, err = slow.communicate(timeout=120)
    assert slow.returncode == 0, err
    assert json.loads(out)["superseded_by"] == "clf#dev#2"
    manifest = yaml.safe_load(gov.git("show", "HEAD:deploy/dev.yaml"))
    assert manifest["artifacts"]["clf"]["tag"] == "clf#dev#2"
    assert manifest["artifacts"]["clf"]["id"] == ids[1]
    held = gov.ckpt_ok("stages", "--json").json()["holders"]
    assert [(h["stage"], h["tag"]) for h in held] == [("dev", "clf#dev#2")]


def test_companions_move_with_the_checkpoint_and_serving_stack_is_checked(gov: Repo) -> None:
    import json

    tok = gov.path / "models" / "tokenizer.json"
    gov.model(seed=1)
    tok.parent.mkdir(exist_ok=True)
    tok.write_text(json.dumps({"vocab": ["a", "b"]}))
    v1 = gov.save("models/clf.safetensors", "clf", "--with", "models/tokenizer.json")
    side = gov.git("show", f"{v1['commit']}:models/clf.safetensors.ckpt.yaml")
    assert "companions:" in side and "path: models/tokenizer.json" in side
    assert gov.git("check-ignore", "models/tokenizer.json").strip()
    first = sha(tok)
    gov.ckpt_ok("promote", v1["id"], "--stage", "dev", "--rationale", "v1")
    gov.model(seed=2)
    tok.write_text(json.dumps({"vocab": ["a", "b", "c"]}))
    v2 = gov.save("models/clf.safetensors", "clf", "--with", "models/tokenizer.json")
    out = gov.ckpt_ok("promote", v2["id"], "--stage", "dev", "--rationale", "v2",
                      "--json").json()
    assert "Ckpt-Companion: models/tokenizer.json sha256:" in tag_body(gov.path, out["tag"])
    deploy = gov.path / "deploy" / "dev.yaml"
    text = deploy.read_text()
    assert "models/tokenizer.json" in text
    # the team declares the serving stack; a target trained with another numpy major refuses
    deploy.write_text(text + "serving:\n  packages:\n    numpy: '0.1'\n")
    gov.git("commit", "-q", "-am", "declare serving stack")
    res = gov.ckpt("revert", "clf", "--stage", "dev", "--to", v1["id"], "--rationale", "x")
    assert res.code == 4 and "numpy" in res.err and "--force" in res.err
    gov.ckpt_ok("revert", "clf", "--stage", "dev", "--to", v1["id"], "--rationale",
                "tokenizer regression; numpy pin checked by hand", "--force")
    assert sha(tok) == first  # the tokenizer came back with the model
    assert "serving:" in deploy.read_text()  # the team's block survives the rewrite
