"""Promote-scoped guardrails on pushed promotion tags (ckptgit/policy/promotions.py): a tag made
by plain ``git tag -s`` with the right trailers skips ``git ckpt promote``'s judgement, so the
client's pre-push and the server's pre-receive judge it when it is pushed."""

from __future__ import annotations

import subprocess
from pathlib import Path

from conftest import git, make_repo
from governance_fixtures import bare_remote, promote_message, push, raw_tag
from test_policy import GOOD, MODEL, _configure, _signing


def _push_tag(path: Path, tag: str, verify: bool) -> subprocess.CompletedProcess[str]:
    args = ["git", "push", *([] if verify else ["--no-verify"]), "origin", f"refs/tags/{tag}"]
    return subprocess.run(args, cwd=path, capture_output=True, text=True, check=False)


def test_a_hand_made_promotion_tag_is_judged_by_the_stage_rules(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    _configure(repo)
    _signing(repo, tmp_path)
    bare = bare_remote(repo, tmp_path)  # the server's trusted copy holds the guardrails
    assert push(repo, "HEAD:main").returncode == 0
    repo.model()
    saved = repo.save(MODEL, "clf", *GOOD, "--metric", "acc=0.85", "--push")
    done = push(repo, "HEAD:main")
    assert done.returncode == 0, done.stderr
    # acc 0.85 < 0.9: 'git ckpt promote' refuses production; a hand-made tag tries anyway
    made = raw_tag(repo.path, "clf#production#1", saved["commit"],
                   promote_message(saved["id"], "production"))
    assert made.returncode == 0, made.stderr
    done = _push_tag(repo.path, "clf#production#1", verify=True)
    assert done.returncode != 0
    assert "guardrail 'prod-accuracy' (promote to production)" in done.stderr, done.stderr
    done = _push_tag(repo.path, "clf#production#1", verify=False)  # the server still refuses
    assert done.returncode != 0
    assert "clf#production#1: guardrail 'prod-accuracy' (promote to production)" in done.stderr
    assert git(bare, "tag", "-l").split() == []
    # the same checkpoint meets staging's rule (acc >= 0.8): the same path lets it through
    made = raw_tag(repo.path, "clf#staging#2", saved["commit"],
                   promote_message(saved["id"], "staging"))
    assert made.returncode == 0, made.stderr
    done = _push_tag(repo.path, "clf#staging#2", verify=False)
    assert done.returncode == 0, done.stderr
    assert git(bare, "tag", "-l").split() == ["clf#staging#2"]


def test_the_server_judges_with_its_trusted_rules_not_the_pushers(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    _configure(repo)
    _signing(repo, tmp_path)
    bare = bare_remote(repo, tmp_path)
    assert push(repo, "HEAD:main").returncode == 0
    repo.model()
    saved = repo.save(MODEL, "clf", *GOOD, "--metric", "acc=0.5", "--push")
    assert push(repo, "HEAD:main").returncode == 0
    # the pusher drops the staging rule in a commit of their own (unsigned: not an admin's)
    config = repo.path / ".ckpt/config.yaml"
    config.write_text(config.read_text().replace("metrics.acc >= 0.8", "metrics.acc >= 0.1"))
    repo.git("commit", "-q", "-m", "lower the bar", ".ckpt/config.yaml")
    made = raw_tag(repo.path, "clf#staging#1", saved["commit"],
                   promote_message(saved["id"], "staging"))
    assert made.returncode == 0, made.stderr
    done = subprocess.run(["git", "push", "--no-verify", "origin", "HEAD:main",
                           "refs/tags/clf#staging#1"], cwd=repo.path, capture_output=True,
                          text=True, check=False)
    assert done.returncode != 0
    assert "guardrail 'staging-accuracy' (promote to staging)" in done.stderr, done.stderr
    assert "clf#staging#1" not in git(bare, "tag", "-l")
