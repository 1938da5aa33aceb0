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
    first = propose(alice, team.v1["id"], "production", "--open-pr")  # pushes; no gh here
    assert first["branch"] == f"ckpt/propose/clf/production/{first['request'][:8]}"
    assert first["pushed"] and first["pr"].startswith(
        f"gh pr create --base main --head {first['branch']} --title")
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


# -- hostile cases: each refused by promote --request, by verify and by the server ---------------
def _key(team: Team, who: str) -> str:
    return str(team.keys.dir / f"{who}.key")


def _proposed(team: Team) -> tuple[str, str]:
    """A request for v1 in production, proposed by alice, its branch checked out."""
    repo = team.origin
    repo.git("checkout", "-q", "main")
    out = propose(repo, team.v1["id"], "production")
    repo.git("checkout", "-q", out["branch"])
    return out["request"], out["branch"]


def _approve(team: Team, *who: str, verdict: str = "approve") -> None:
    for person in who:
        team.origin.ckpt_ok(verdict, "--key", _key(team, person), "--comment", f"{person} here")


def _merge_local(team: Team, branch: str) -> None:
    repo = team.origin
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--no-ff", "-m", f"Merge {branch}", branch)
    pushed(repo, "main")


def _forge(team: Team, rid: str, approvers: tuple[str, ...], at: str) -> str:
    """The tag promote --request would have made, made by hand with the bot's key."""
    from governance_fixtures import raw_tag

    v1 = team.v1
    lines = ["Ckpt-Action: promote", f"Ckpt-Id: {v1['id']}", "Ckpt-Name: clf",
             "Ckpt-Stage: production", f"Ckpt-Seal: sha256:{v1['artifact']['sha256']}",
             "Rationale: better acc", *[f"Approved-By: {a}@example.com" for a in approvers],
             f"Ckpt-Request: {rid}", f"Ckpt-Request-Commit: {at}", "Signed-By: bot@example.com"]
    tag = "clf#production#2"
    made = raw_tag(team.origin.path, tag, v1["commit"], "promote by hand\n\n"
                   + "\n".join(lines) + "\n")
    assert made.returncode == 0, made.stderr
    return tag


def _all_refuse(team: Team, rid: str, approvers: tuple[str, ...], expected: str,
                at: str | None = None) -> None:
    from governance_fixtures import use_key

    repo = team.origin
    repo.git("checkout", "-q", "main")
    use_key(repo.path, team.keys, "bot")
    res = repo.ckpt("promote", "--request", rid)
    assert res.code == 4, res.err
    assert expected in res.err, res.err
    tag = _forge(team, rid, approvers, at or repo.git("rev-parse", "main").strip())
    done = push(repo, "--no-verify", f"refs/tags/{tag}")
    assert done.returncode != 0
    assert expected in done.stderr, done.stderr
    checked = repo.ckpt("verify", "--offline", "--allow-missing")
    assert checked.code == 3, checked.out
    assert expected in checked.out, checked.out


def test_approval_by_a_key_not_allowed_for_the_stage(team: Team) -> None:
    from requests_fixtures import sign_statement

    rid, branch = _proposed(team)
    _approve(team, "bob")
    team.origin.git("add", *sign_statement(team.origin, team.keys, rid, "mallory"))
    team.origin.git("commit", "-q", "-m", "mallory approves")
    _merge_local(team, branch)
    _all_refuse(team, rid, ("bob", "mallory"), "may not approve production")


def test_self_approval_is_not_counted(team: Team) -> None:
    rid, branch = _proposed(team)
    _approve(team, "alice", "bob")
    _merge_local(team, branch)
    _all_refuse(team, rid, ("alice", "bob"), "self-approval")


def test_approval_signed_before_the_request_changed(team: Team) -> None:
    from ckptgit.governance import requests

    rid, branch = _proposed(team)
    _approve(team, "bob", "carol")
    path = team.origin.path / requests.request_path(rid)
    path.write_bytes(path.read_bytes().replace(b"better acc", b"better acc, trust me"))
    team.origin.git("commit", "-q", "-am", "reword the rationale")
    _merge_local(team, branch)
    _all_refuse(team, rid, ("bob", "carol"), "the request changed after it was signed")


def test_approval_copied_from_another_request(team: Team) -> None:
    import shutil

    from ckptgit.governance import requests

    first, _ = _proposed(team)
    _approve(team, "bob", "carol")
    src = team.origin.path / requests.approvals_dir(first)
    saved = {p.name: p.read_bytes() for p in src.iterdir() if not p.name.startswith("alice")}
    rid, branch = _proposed(team)
    dest = team.origin.path / requests.approvals_dir(rid)
    for name, data in saved.items():
        (dest / name).write_bytes(data)
    shutil.rmtree(src, ignore_errors=True)
    team.origin.git("add", str(dest))
    team.origin.git("commit", "-q", "-m", "approvals from elsewhere")
    _merge_local(team, branch)
    _all_refuse(team, rid, ("bob", "carol"), "signed for another request")


def test_fewer_approvals_than_required(team: Team) -> None:
    rid, branch = _proposed(team)
    _approve(team, "bob")
    _merge_local(team, branch)
    _all_refuse(team, rid, ("bob", "carol"), "1 of 2 required signed approvals")


def test_outstanding_rejection(team: Team) -> None:
    rid, branch = _proposed(team)
    _approve(team, "bob", "carol")
    _approve(team, "dave", verdict="reject")
    _merge_local(team, branch)
    _all_refuse(team, rid, ("bob", "carol"), "rejected by dave@example.com")


def test_request_never_merged(team: Team) -> None:
    rid, branch = _proposed(team)
    _approve(team, "bob", "carol")
    at = team.origin.git("rev-parse", "HEAD").strip()
    team.origin.git("checkout", "-q", "main")
    res = team.origin.ckpt("promote", "--request", rid)
    assert res.code == 4 and "never merged" in res.err, res.err
    team.origin.git("checkout", "-q", "main")
    from governance_fixtures import use_key

    use_key(team.origin.path, team.keys, "bot")  # the bot's own key: only the merge is missing
    tag = _forge(team, rid, ("bob", "carol"), at)
    done = push(team.origin, "--no-verify", f"refs/tags/{tag}")
    assert done.returncode != 0 and "never merged" in done.stderr, done.stderr
    checked = team.origin.ckpt("verify", "--offline", "--allow-missing")
    assert checked.code == 3 and "never merged" in checked.out, checked.out


# -- break glass ---------------------------------------------------------------------------------
def _held(team: Team) -> str:
    """v1 holds production through a proper request; returns its tag."""
    rid, branch = _proposed(team)
    _approve(team, "bob", "carol")
    _merge_local(team, branch)
    from governance_fixtures import use_key

    use_key(team.origin.path, team.keys, "bot")
    out = team.origin.ckpt_ok("promote", "--request", rid, "--json").json()
    pushed(team.origin, f"refs/tags/{out['tag']}")
    return str(out["tag"])


def _emergency(team: Team, who: str) -> tuple[int, str, str]:
    from governance_fixtures import use_key

    use_key(team.origin.path, team.keys, who)
    res = team.origin.ckpt("revert", "clf", "--stage", "production", "--to", team.v2["id"],
                           "--rationale", "INC-42: p99 latency", "--emergency", "--json")
    return res.code, res.out, res.err


def test_emergency_revert_by_someone_not_on_responders(team: Team) -> None:
    from governance_fixtures import raw_tag

    held = _held(team)
    code, out, _ = _emergency(team, "bot")
    assert code == 4 and json.loads(out)["exit"] == 4, out  # --json: the error is JSON on stdout
    assert "only a responder" in json.loads(out)["error"], out
    v2 = team.v2
    message = ("revert by hand\n\nCkpt-Action: revert\n"
               f"Ckpt-Id: {v2['id']}\nCkpt-Name: clf\nCkpt-Stage: production\n"
               f"Ckpt-Seal: sha256:{v2['artifact']['sha256']}\nRationale: INC\n"
               f"Reverts: {held}\nEmergency: true\nSigned-By: bot@example.com\n")
    assert raw_tag(team.origin.path, "clf#production#3", v2["commit"], message).returncode == 0
    done = push(team.origin, "--no-verify", "refs/tags/clf#production#3")
    assert done.returncode != 0 and "not a responder" in done.stderr, done.stderr
    checked = team.origin.ckpt("verify", "--offline", "--allow-missing")
    assert checked.code == 3 and "not a responder" in checked.out, checked.out


def test_emergency_revert_ratified_within_its_window(team: Team) -> None:
    _held(team)
    code, out, err = _emergency(team, "alice")
    assert code == 0, err
    tag = json.loads(out)["tag"]
    assert "Emergency: true" in team.origin.git("tag", "-l", "--format=%(contents:body)", tag)
    pushed(team.origin, "main", f"refs/tags/{tag}")
    stages = team.origin.ckpt_ok("stages", "--json").json()
    held = {r["stage"]: r for r in stages["holders"]}
    assert held["production"]["emergency"] and held["production"]["ratification"] == "pending"
    assert team.origin.ckpt("verify", "--offline", "--allow-missing").code == 0  # in window
    self_ratified = team.origin.ckpt("ratify", tag, "--key", _key(team, "alice"))
    assert self_ratified.code == 0  # written, but the responder's own approval does not count
    team.origin.git("checkout", "-q", "-b", "ratify")
    team.origin.ckpt_ok("ratify", tag, "--key", _key(team, "bob"), "--comment", "right call")
    _merge_local(team, "ratify")
    history = team.origin.ckpt_ok("history", "clf", "--json").json()
    assert next(e for e in history if e["tag"] == tag)["ratification"] == "pending"  # 1 of 2
    team.origin.git("checkout", "-q", "-b", "ratify-2")
    team.origin.ckpt_ok("ratify", tag, "--key", _key(team, "carol"))
    _merge_local(team, "ratify-2")
    history = team.origin.ckpt_ok("history", "clf", "--json").json()
    assert next(e for e in history if e["tag"] == tag)["ratification"] == "ratified"


def test_emergency_revert_unratified_past_its_window(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from requests_fixtures import CONFIG

    now = int(time.time())
    monkeypatch.setenv("GIT_COMMITTER_DATE", f"{now - 200} +0000")
    team = make_team(tmp_path, CONFIG.replace("ratify_within: 1h", "ratify_within: 60"))
    _held(team)
    monkeypatch.setenv("GIT_COMMITTER_DATE", f"{now - 120} +0000")
    code, out, err = _emergency(team, "alice")
    assert code == 0, err
    tag = json.loads(out)["tag"]
    monkeypatch.delenv("GIT_COMMITTER_DATE")
    checked = team.origin.ckpt("verify", "--offline", "--allow-missing")
    assert checked.code == 1, checked.out
    assert "not ratified" in checked.out
    done = push(team.origin, "--no-verify", f"refs/tags/{tag}")
    assert done.returncode != 0 and "ratification window" in done.stderr, done.stderr
    stages = team.origin.ckpt_ok("stages").out
    assert "(emergency, overdue)" in stages
    audited = team.origin.ckpt("audit", "--format", "json", "--offline")
    event = next(e for e in audited.json()["events"] if e.get("tag") == tag)
    assert event["status"] == "failed" and event["ratification"] == "overdue"


def test_server_refuses_a_backdated_approval(team: Team) -> None:
    import time

    from requests_fixtures import sign_statement

    rid, branch = _proposed(team)
    _approve(team, "bob")
    team.origin.git("add", *sign_statement(team.origin, team.keys, rid, "carol",
                                           when=int(time.time()) - 7200))
    team.origin.git("commit", "-q", "-m", "carol approves, dated two hours ago")
    done = push(team.origin, "--no-verify", f"HEAD:refs/heads/{branch}")
    assert done.returncode != 0 and "signed-at is" in done.stderr, done.stderr
    team.origin.git("reset", "-q", "--hard", "HEAD~1")
    pushed(team.origin, f"HEAD:refs/heads/{branch}")  # bob's fresh approval is accepted
    _merge_local(team, branch)  # the merge brings nothing new: not judged again


def test_approvals_survive_a_rebase(team: Team) -> None:
    from governance_fixtures import use_key

    rid, branch = _proposed(team)
    _approve(team, "bob", "carol")
    repo = team.origin
    repo.git("checkout", "-q", "main")
    (repo.path / "NOTES.md").write_text("main moved on\n")
    repo.git("add", "NOTES.md")
    repo.git("commit", "-q", "-m", "unrelated work")
    repo.git("checkout", "-q", branch)
    repo.git("rebase", "-q", "main")
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--ff-only", branch)
    pushed(repo, "main")
    use_key(repo.path, team.keys, "bot")
    out = repo.ckpt_ok("promote", "--request", rid, "--json").json()
    pushed(repo, f"refs/tags/{out['tag']}")
    assert repo.ckpt("verify", "--offline", "--allow-missing").code == 0


def test_an_approver_added_by_an_unsigned_commit_does_not_count(team: Team) -> None:
    """mallory maps her own key to carol's principal in an unsigned commit on main (landed
    through a host without our pre-receive): promote --request and verify read the trust
    files replayed from the root of trust, so her approval as carol is not counted."""
    from requests_fixtures import sign_statement, signers_line

    rid, branch = _proposed(team)
    _approve(team, "bob")
    team.origin.git("add", *sign_statement(team.origin, team.keys, rid, "mallory",
                                           principal="carol@example.com"))
    team.origin.git("commit", "-q", "-m", "carol approves")
    repo = team.origin
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--no-ff", "-m", f"Merge {branch}", branch)
    signers = repo.path / ".ckpt" / "allowed_signers"
    line = signers_line(team.keys, "mallory").replace("mallory@", "carol@", 1)
    signers.write_text(signers.read_text() + line)
    repo.git("add", ".ckpt/allowed_signers")
    repo.git("commit", "-q", "--no-gpg-sign", "-m", "add carol's laptop key")
    hook = team.bare / "hooks" / "pre-receive"
    hook.rename(hook.with_name("off"))  # a host that does not run our pre-receive
    pushed(repo, "main")
    hook.with_name("off").rename(hook)
    _all_refuse(team, rid, ("bob", "carol"), "1 of 2 required signed approvals")
    checked = repo.ckpt("verify", "--offline", "--allow-missing")
    assert "without an admin's signature" in checked.out, checked.out


def test_server_rules_come_from_the_trusted_revision_never_the_work_tree(team: Team) -> None:
    """hooks install --server copies the replayed trusted revision; a dirty edit, or an
    unsigned commit adding a key, is refused (exit 4) and the server's copy is unchanged."""
    from requests_fixtures import signers_line

    repo = team.origin
    trusted = team.bare / "ckpt-trusted" / "allowed_signers"
    before = trusted.read_bytes()
    signers = repo.path / ".ckpt" / "allowed_signers"
    signers.write_text(signers.read_text()
                       + signers_line(team.keys, "mallory").replace("mallory@", "carol@", 1))
    dirty = repo.ckpt("hooks", "install", "--server", str(team.bare), "--force")
    assert dirty.code == 4, dirty.err
    assert "differs from the trusted revision" in dirty.err
    assert len(dirty.err.strip().splitlines()) == 1
    repo.git("commit", "-q", "--no-gpg-sign", "-m", "add a key", "--", ".ckpt/allowed_signers")
    repo.git("fetch", "-q", "origin")
    unsigned = repo.ckpt("hooks", "install", "--server", str(team.bare), "--force")
    assert unsigned.code == 4, unsigned.err  # local main is ahead, but origin/main is trusted
    repo.git("update-ref", "refs/remotes/origin/main", "main")
    replayed = repo.ckpt("hooks", "install", "--server", str(team.bare), "--force")
    assert replayed.code == 4, replayed.err  # the unsigned change is not in the replayed view
    assert trusted.read_bytes() == before
    repo.git("reset", "-q", "--hard", "HEAD~1")
    repo.git("update-ref", "refs/remotes/origin/main", "main")
    repo.ckpt_ok("hooks", "install", "--server", str(team.bare), "--force")
    assert trusted.read_bytes() == before
