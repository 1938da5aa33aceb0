"""Promotions reviewed in pull requests: real clones, real keys, a guarded bare server.

propose -> push -> two approvals signed by the approvers' own keys -> merge (--no-ff, then
--squash) -> promote --request with the CI bot's key -> a fresh clone verifies, and real
``gto show`` reports the holder. Every hostile variant is refused by promote, verify and the
server's pre-receive alike.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import BIN, Repo
from requests_fixtures import (
    Team,
    approve_on,
    make_team,
    merge,
    propose,
    push,
    pushed,
)


@pytest.fixture
def team(tmp_path: Path) -> Team:
    return make_team(tmp_path)


def _promote(bot: Repo, rid: str) -> dict:
    bot.git("fetch", "-q", "origin", "--tags")
    bot.git("checkout", "-q", "-B", "main", "origin/main")
    out = bot.ckpt_ok("promote", "--request", rid, "--json").json()
    pushed(bot, f"refs/tags/{out['tag']}")
    return out


def test_request_reviewed_approved_merged_and_promoted(team: Team) -> None:
    alice, bob = team.clone("alice", "alice"), team.clone("bob", "bob")
    carol, bot = team.clone("carol", "carol"), team.clone("bot", "bot")
    first = propose(alice, team.v1["id"], "production", "--push")
    assert first["branch"] == f"ckpt/propose/clf/production/{first['request'][:8]}"
    assert alice.git("status", "--porcelain") == ""  # work tree and index untouched
    assert alice.git("branch", "--show-current").strip() == "main"
    approve_on(bob, first["branch"])
    review = bob.ckpt("review", "--format", "json")
    assert review.code == 0, review.err
    assert review.json()["approvals"]["approved_by"] == ["bob@example.com"]
    approve_on(carol, first["branch"])
    md = carol.ckpt_ok("review", first["request"], "--format", "markdown").out
    assert "ready to promote" in md and "bob@example.com" in md
    merge(alice, first["branch"], "--no-ff")
    out = _promote(bot, first["request"])
    body = bot.git("tag", "-l", "--format=%(contents:body)", out["tag"])
    assert f"Ckpt-Request: {first['request']}" in body
    assert "Approved-By: bob@example.com" in body and "Approved-By: carol@example.com" in body
    assert "Signed-By: bot@example.com" in body

    # the second request is merged with --squash: the signed files survive it
    alice.git("fetch", "-q", "origin", "--tags")
    second = propose(alice, team.v2["id"], "production", "--push")
    approve_on(bob, second["branch"])
    approve_on(carol, second["branch"])
    review = bob.ckpt_ok("review", second["request"], "--format", "json").json()
    assert review["diff"]["a"]["id"] == team.v1["id"]  # against the holder
    assert any(m["name"] == "acc" for m in review["diff"]["sections"]["metrics"])
    merge(alice, second["branch"], "--squash")
    out2 = _promote(bot, second["request"])
    assert out2["id"] == team.v2["id"]

    auditor = team.clone("auditor", "dave")
    auditor.git("fetch", "-q", "origin", "--tags")
    checked = auditor.ckpt("verify", "--offline", "--allow-missing")
    assert checked.code == 0, checked.out + checked.err
    shown = json.loads(subprocess.run([f"{BIN}/gto", "show", "--json"], cwd=auditor.path,
                                      capture_output=True, text=True, check=True).stdout)
    assert "production" in shown["clf"]["stage"]
    history = json.loads(subprocess.run([f"{BIN}/gto", "history", "clf", "--json"],
                                        cwd=auditor.path, capture_output=True, text=True,
                                        check=True).stdout)
    latest = max((h for h in history if h["event"] == "assignment"
                  and h["stage"] == "production"), key=lambda h: h["ref"])
    assert latest["commit"] == team.v2["commit"]
    again = bot.ckpt("promote", "--request", second["request"])
    assert again.code == 2 and "carried out already" in again.err


def test_direct_approved_by_is_refused_where_approvals_are_signed(team: Team) -> None:
    alice = team.clone("alice", "alice")
    res = alice.ckpt("promote", team.v1["id"], "--stage", "production", "--rationale", "x",
                     "--approved-by", "bob@example.com", "--approved-by", "carol@example.com")
    assert res.code == 4 and "git ckpt propose" in res.err
    done = push(alice, "main")
    assert done.returncode == 0
