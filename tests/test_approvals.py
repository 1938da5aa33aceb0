"""Signed statements and requests, judged without git: real ssh-keygen keys, hostile bytes."""

from __future__ import annotations

import hashlib
import subprocess
import time
from pathlib import Path

import pytest

from ckptgit import config
from ckptgit.errors import IntegrityError
from ckptgit.governance import approvals, requests

RULES = """\
stages:
  - production: {approvals: 2, approvers: [bob@example.com, carol@example.com, eve@example.com]}
"""


def _key(base: Path, who: str) -> Path:
    path = base / who
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", who, "-f", str(path)],
                   check=True)
    return path


def _request(created: int) -> requests.Request:
    raw = requests.render({
        "id": "0123456789ab", "action": "promote", "name": "clf", "stage": "production",
        "rationale": "better", "proposer": "alice@example.com", "created_at": created,
        "base": "f" * 40, "candidate": {"id": "a" * 16, "commit": "b" * 40, "seal": "c" * 64,
                                        "path": "m.safetensors"},
        "holder": None, "gates": {}, "check": {}})
    return requests.parse(raw)


def _sign(base: Path, req: requests.Request, who: str, verdict: str = "approve",
          when: int | None = None, principal: str | None = None) -> dict[str, bytes]:
    st = approvals.Statement(req.id, req.sha256, verdict, principal or f"{who}@example.com",
                             when or req.created_at + 5)
    sig = approvals.sign(str(base / who), base, st)
    return {f"a/{st.filename}": st.payload(), f"a/{st.filename}.sig": sig}


def _trust(base: Path, lines: list[str], revoked: str | None = None) -> approvals.TrustRoot:
    return approvals.TrustRoot(config.parse(RULES), "".join(lines), revoked)


def _line(base: Path, who: str, extra: str = "", principals: str | None = None) -> str:
    pub = (base / f"{who}.pub").read_text().strip()
    return (f'{principals or who + "@example.com"} namespaces="git,ckpt-approval"{extra} '
            f"{pub}\n")


@pytest.fixture
def people(tmp_path: Path) -> Path:
    for who in ("alice", "bob", "carol", "eve"):
        _key(tmp_path, who)
    return tmp_path


def test_two_approvals_by_distinct_allowed_keys_count(people: Path) -> None:
    req = _request(int(time.time()))
    files = {**_sign(people, req, "alice", "propose"), **_sign(people, req, "bob"),
             **_sign(people, req, "carol")}
    trust = _trust(people, [_line(people, w) for w in ("alice", "bob", "carol")])
    verdict = approvals.verify_request(req, files, config.parse(RULES).rule("production"),
                                       trust)
    assert verdict.ok and verdict.approved_by == ("bob@example.com", "carol@example.com")


def test_the_proposer_counts_only_when_the_stage_says_so(people: Path) -> None:
    req = _request(int(time.time()))
    files = {**_sign(people, req, "alice", "propose"), **_sign(people, req, "alice"),
             **_sign(people, req, "bob")}
    lines = [_line(people, w) for w in ("alice", "bob")]
    rules = RULES.replace("approvers: [", "approvers: [alice@example.com, ")
    strict = config.parse(rules).rule("production")
    verdict = approvals.verify_request(req, files, strict, _trust(people, lines))
    assert not verdict.ok and "self-approval" in "; ".join(verdict.reasons())
    lenient = config.parse(rules.replace("approvals: 2,", "approvals: 2, proposer_counts: true,"))
    verdict = approvals.verify_request(req, files, lenient.rule("production"),
                                       _trust(people, lines))
    assert verdict.ok and verdict.approved_by == ("alice@example.com", "bob@example.com")


@pytest.mark.parametrize("case", ["expired", "revoked", "no-namespace", "one-key-two-names",
                                  "forged-principal"])
def test_statements_that_do_not_count(people: Path, case: str) -> None:
    now = int(time.time())
    req = _request(now)
    rule = config.parse(RULES).rule("production")
    lines = [_line(people, "alice"), _line(people, "bob")]
    revoked = None
    files = {**_sign(people, req, "alice", "propose"), **_sign(people, req, "bob")}
    expected = ""
    if case == "expired":  # carol's key stopped being valid before she signed
        lines.append(_line(people, "carol", ' valid-before="20200101"'))
        files.update(_sign(people, req, "carol"))
        expected = "is not carol@example.com's key valid at"
    elif case == "revoked":
        lines.append(_line(people, "carol"))
        revoked = (people / "carol.pub").read_text()
        files.update(_sign(people, req, "carol"))
        expected = "revoked"
    elif case == "no-namespace":
        pub = (people / "carol.pub").read_text().strip()
        lines.append(f'carol@example.com namespaces="git" {pub}\n')
        files.update(_sign(people, req, "carol"))
        expected = "namespace"
    elif case == "one-key-two-names":  # bob's key also listed as eve: still one approver
        lines.append(_line(people, "bob", principals="eve@example.com"))
        files.update(_sign(people, req, "bob", principal="eve@example.com"))
        expected = "a key already counted"
    elif case == "forged-principal":  # eve signs claiming to be carol
        lines += [_line(people, "carol"), _line(people, "eve")]
        files.update(_sign(people, req, "eve", principal="carol@example.com"))
        expected = "is not carol@example.com's key"
    verdict = approvals.verify_request(req, files, rule, _trust(people, lines, revoked))
    assert not verdict.ok
    assert verdict.approved_by == ("bob@example.com",)
    assert expected in "; ".join(verdict.reasons()), verdict.reasons()


def test_statement_bytes_must_be_canonical(people: Path) -> None:
    req = _request(int(time.time()))
    st = approvals.Statement(req.id, req.sha256, "approve", "bob@example.com", 5, "ok")
    assert approvals.parse_statement(st.payload()) == st
    for bad in (st.payload().replace(b"\n", b"\r\n"), st.payload() + b"verdict: approve\n",
                st.payload().replace(b"bob@example.com", b"../../x")):
        with pytest.raises(ValueError):
            approvals.parse_statement(bad)
    with pytest.raises(IntegrityError):
        approvals.Statement(req.id, req.sha256, "approve", "../evil", 5)


@pytest.mark.parametrize("raw", [
    b"schema_version: 1\nid: &a 0123456789ab\naction: *a\n",
    b"schema_version: 1\n" + b"x: " + b"y" * (70 * 1024) + b"\n",
    b"schema_version: 1\nid: 0123456789ab\naction: launch\nname: c\nstage: s\nproposer: p\n"
    b"created_at: 1\n",
    b"- not\n- a mapping\n",
    b"schema_version: 1\nid: ../../etc\naction: promote\n",
])
def test_hostile_request_files_are_refused(raw: bytes) -> None:
    with pytest.raises(IntegrityError):
        requests.parse(raw)


def test_request_digest_binds_every_byte() -> None:
    req = _request(1)
    assert req.sha256 == hashlib.sha256(req.raw).hexdigest()
    other = requests.parse(req.raw.replace(b"better", b"betteR"))
    assert other.sha256 != req.sha256
