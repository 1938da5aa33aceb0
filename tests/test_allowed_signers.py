"""The one allowed_signers reader: ssh-keygen's full syntax, hostile lines, and narrowed files
that the real ``ssh-keygen -Y verify`` judges the same way we do."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ckptgit.governance import allowed_signers as al

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDO0VQD9TIdICZLWFWwtf7s8/aENve8twGTEmNV0myh5"
EC = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBGs="


def one(line: str) -> al.Signer:
    [entry] = al.parse(line)
    assert isinstance(entry, al.Signer), entry
    return entry


def invalid(line: str) -> str:
    [entry] = al.parse(line)
    assert isinstance(entry, al.Invalid), entry
    return entry.reason


def test_plain_line() -> None:
    s = one(f"alice@example.com {KEY} alice's laptop")
    assert s.principals == ("alice@example.com",)
    assert s.key == KEY and s.comment == "alice's laptop"
    assert not s.cert_authority and s.namespaces is None
    assert s.grants("alice@example.com") and not s.grants("bob@example.com")


def test_options_all_kinds() -> None:
    s = one(f'"a@x,b@x" cert-authority,namespaces="git,ckpt-approval",'
            f'valid-after="20240101",valid-before="20991231235959Z" {KEY}')
    assert s.principals == ("a@x", "b@x")
    assert s.cert_authority
    assert s.namespaces == ("git", "ckpt-approval")
    assert s.allows_namespace("git") and not s.allows_namespace("file")
    assert (s.valid_after, s.valid_before) == ("20240101", "20991231235959Z")


def test_option_names_are_case_insensitive_and_values_keep_commas() -> None:
    s = one(f'a@x Namespaces="git,file" {KEY}')
    assert s.namespaces == ("git", "file")


def test_quoted_principals_with_blanks_commas_and_wildcards() -> None:
    s = one(f'"*@example.com,!mallory@example.com,ops team" {KEY}')
    assert s.grants("alice@example.com")
    assert s.grants("ops team")
    assert not s.grants("mallory@example.com")  # negation wins over the wildcard
    assert not s.grants("alice@example.org")
    assert s.literal_principals() == ["ops team"]


def test_negation_is_never_dropped() -> None:
    s = one(f"!eve@x,*@x {KEY}")
    assert not s.grants("eve@x") and s.grants("bob@x")
    assert not one(f"!eve@x {KEY}").grants("bob@x")  # only a negation grants nobody


def test_question_mark_and_star_do_not_act_as_regex() -> None:
    s = one(f"a?c@x.org {KEY}")
    assert s.grants("abc@x.org") and not s.grants("ac@x.org")
    assert not one(f"a.c@x {KEY}").grants("abc@x")  # "." is literal
    assert not one(f"[ab]@x {KEY}").grants("a@x")  # no character classes in ssh patterns


def test_comments_and_blank_lines_are_skipped() -> None:
    text = f"# header\n\n   \n  # indented\nalice@x {KEY}\n"
    assert [s.line for s in al.signers(text)] == [5]


@pytest.mark.parametrize(("line", "why"), [
    (f"alice@x {KEY.split()[0]}", "missing key"),
    ("alice@x", "missing key"),
    (f"alice@x ssh-foo {KEY.split()[1]}", "unsupported option"),
    ("alice@x ssh-ed25519 not*base64", "not base64"),
    (f'"alice@x {KEY}', "unterminated quote"),
    (f'"alice@x"{KEY}', "right after the quoted"),
    (f",alice@x {KEY}", "empty principal"),
    (f"alice@x,,bob@x {KEY}", "empty principal"),
    (f"! {KEY}", "empty principal"),
    (f'"" {KEY}', "empty principal"),
    (f"alice@x command=\"rm -rf /\" {KEY}", "unsupported option"),
    (f"alice@x no-touch-required {KEY}", "unsupported option"),
    (f'alice@x namespaces=git {KEY}', "quoted value"),
    (f'alice@x namespaces="git {KEY}', "unterminated quote"),
    (f'alice@x namespaces="git,,file" {KEY}', "empty namespace"),
    (f'alice@x namespaces="a",namespaces="b" {KEY}', "twice"),
    (f'alice@x cert-authority="yes" {KEY}', "no value"),
    (f'alice@x valid-after="yesterday" {KEY}', "not a time"),
    (f'alice@x valid-before="2024" {KEY}', "not a time"),
    (f'alice@x namespaces="git"x {KEY}', "bad option"),
    (f"alice@x cert-authority, {KEY}", "option"),
])
def test_hostile_lines_are_invalid_with_a_reason(line: str, why: str) -> None:
    assert why in invalid(line)


def test_an_invalid_line_does_not_hide_the_next() -> None:
    entries = al.parse(f"garbage\nalice@x {KEY}\n")
    assert isinstance(entries[0], al.Invalid) and entries[0].line == 1
    assert isinstance(entries[1], al.Signer) and entries[1].line == 2


def test_narrowed_keeps_only_granted_principals_and_all_options() -> None:
    text = (f'"*@x,!eve@x" namespaces="git" {KEY}\n'
            f"bob@x {EC}\n"
            "broken line\n")
    out = al.narrowed(text, ["alice@x", "eve@x"])
    assert out == f'"alice@x" namespaces="git" {KEY}\n'
    assert al.narrowed(text, []) == text  # no principals: the stage trusts everyone listed
    assert al.narrowed(text, ["nobody@y"]) == ""


def test_public_keys_of_a_revocation_file() -> None:
    text = f"# revoked\n{KEY} old laptop\nalice@x {EC}\nnoise\n"
    assert al.public_keys(text) == [KEY, EC]


def test_render_round_trips() -> None:
    line = (f'"a@x,!b@x" cert-authority,namespaces="git,file",valid-after="20240101",'
            f'valid-before="20990101Z" {KEY}')
    s = one(line)
    assert one(s.render()) == s


def _verify(signers_file: Path, principal: str, sig: Path, msg: Path, ns: str = "git") -> bool:
    done = subprocess.run(["ssh-keygen", "-Y", "verify", "-f", str(signers_file), "-I", principal,
                           "-n", ns, "-s", str(sig)], input=msg.read_bytes(),
                          capture_output=True, check=False)
    return done.returncode == 0


def test_narrowed_files_mean_to_ssh_keygen_what_they_mean_to_us(tmp_path: Path) -> None:
    key = tmp_path / "k"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    msg = tmp_path / "m"
    msg.write_text("hello\n")
    subprocess.run(["ssh-keygen", "-Y", "sign", "-f", str(key), "-n", "git", str(msg)],
                   check=True, capture_output=True)
    pub = " ".join(key.with_suffix(".pub").read_text().split()[:2])
    text = f'"*@x,!eve@x,ops team" namespaces="git,ckpt-approval",valid-after="20200101" {pub}\n'
    [signer] = al.signers(text)
    full = tmp_path / "allowed"
    full.write_text(text)
    for who in ("alice@x", "eve@x", "ops team", "bob@y"):
        narrowed = tmp_path / f"n-{who}"
        narrowed.write_text(al.narrowed(text, [who]))
        ours = signer.grants(who)
        assert _verify(full, who, msg.with_name("m.sig"), msg) is ours, who
        assert _verify(narrowed, who, msg.with_name("m.sig"), msg) is ours, who


@pytest.mark.parametrize(("value", "zone", "expected"), [
    ("20240101Z", "Asia/Tokyo", "2024-01-01T00:00:00+00:00"),
    ("20240101", "Asia/Tokyo", "2023-12-31T15:00:00+00:00"),   # local midnight, as ssh-keygen
    ("202401010930", "America/New_York", "2024-01-01T14:30:00+00:00"),
    ("20240101093015Z", "America/New_York", "2024-01-01T09:30:15+00:00"),
])
def test_validity_times_are_read_as_ssh_keygen_reads_them(
        value: str, zone: str, expected: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import time
    from datetime import UTC, datetime

    from ckptgit.governance import sigcheck

    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        seconds = sigcheck._when(value)
    finally:
        monkeypatch.undo()
        time.tzset()
    assert seconds is not None
    assert datetime.fromtimestamp(seconds, UTC).isoformat() == expected
