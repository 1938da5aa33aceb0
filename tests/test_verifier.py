"""The verifier's parts on their own: tag-name grammar, the signature split, strict trailers,
the trust root's admin rule, signed saves, REF ambiguity and ``init``'s git configuration.
The attacks themselves run through every reader in test_forgery_matrix.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import Repo, make_repo
from governance_fixtures import CONFIG, Keys, govern, use_key

from ckptgit.governance import sigcheck, tagname
from ckptgit.governance import trailers as tr


@pytest.mark.parametrize(("ref", "governed", "accepted"), [
    ("clf#dev#1", True, True),
    ("clf#dev!#2", True, True),
    ("clf@deprecated#3", True, True),
    ("clf@v1.2.3", True, True),
    ("ckpt/lock/production/1", True, True),
    ("clf#dev", True, False),
    ("clf#dev!", True, False),
    ("clf@deprecated", True, False),
    ("clf@created", True, False),
    ("CLF#Dev#1", True, False),
    ("clf#dev#01", True, False),
    ("clf#dev#0", True, False),
    ("dir=clf#dev#1", True, False),
    ("CKPT/Unlock/production/2", True, False),
    ("clf#dev#" + "9" * 19, True, False),  # over 18 digits: not a counter
    ("clf#dev#" + "1" * 5000, True, False),  # past int()'s 4,300-digit limit
    ("clf@deprecated#" + "1" * 5000, True, False),
    ("ckpt/lock/production/" + "1" * 5000, True, False),
    ("v1.0", False, None),
    ("release-2024", False, None),
])
def test_every_gto_form_in_any_case_is_governed(ref: str, governed: bool,
                                                accepted: bool | None) -> None:
    assert tagname.governed(ref) is governed
    if accepted is not None:
        assert (tagname.problem(ref) is None) is accepted


def test_an_odd_form_under_a_known_name_is_governed() -> None:
    assert not tagname.governed("clf#dev#1x")
    assert tagname.governed("clf#dev#1x", {"clf"}) and tagname.problem("clf#dev#1x")


@pytest.mark.parametrize("stamp", ["1" * 5000, "9" * 19, "\u0661\u0662"])
def test_a_tagger_date_that_is_no_int64_is_no_date(stamp: str) -> None:
    from ckptgit.governance import verifier

    raw = (f"object {'a' * 40}\ntype commit\ntag clf#dev#1\ntagger x <x@y> {stamp} +0000\n\n"
           "msg\n").encode()
    obj = verifier.parse_tag(raw)
    assert obj is not None and obj.tagger_time is None


def test_the_signature_starts_at_the_last_marker_line_as_in_git() -> None:
    body = (b"object x\ntype commit\ntag t\n\nmsg\n-----BEGIN SSH SIGNATURE-----\nfake\n"
            b"-----END SSH SIGNATURE-----\nRationale: x\n-----BEGIN PGP SIGNATURE-----\nsig\n")
    payload, signature = sigcheck.split_tag(body)
    assert signature.startswith(b"-----BEGIN PGP SIGNATURE-----")
    assert payload.endswith(b"Rationale: x\n") and sigcheck.kind(signature) == "openpgp"
    quoted = b"object x\n\nsee  -----BEGIN SSH SIGNATURE----- inline\n"
    assert sigcheck.split_tag(quoted) == (quoted, b"")  # only at a line start


@pytest.mark.parametrize("sep", ["\u2028", "\u2029", "\u0085", "\r", "\v", "\f", "\x1c",
                                 "\x1d", "\x1e", "\x00"])
def test_line_separators_never_smuggle_a_trailer(sep: str) -> None:
    body = f"Ckpt-Action: promote\nRationale: ok{sep}Approved-By: ceo@example.com\n"
    parsed = tr.parse(body)
    assert parsed.all(tr.APPROVED_BY) == []
    assert any("line separator" in p for p in tr.problems(parsed))
    with pytest.raises(Exception, match="one line"):
        tr.check_value(tr.RATIONALE, f"ok{sep}Approved-By: ceo")


def test_trailers_come_from_the_final_block_only_and_once_each() -> None:
    mixed = "Ckpt-Action: promote\nnot a trailer\nRationale: ok\n"
    assert tr.parse(mixed).items == ()
    twice = tr.parse("Ckpt-Action: promote\nCkpt-Seal: a\nckpt-seal: b\nApproved-By: x\n"
                     "Approved-By: y\n")
    assert tr.duplicates(twice) == ["ckpt-seal"]
    assert tr.parse_message("Ckpt-Action: promote\nRationale: a title, not trailers\n").items \
        == ()


def _governed(tmp_path: Path, keys: Keys) -> Repo:
    repo = make_repo(tmp_path)
    govern(repo, keys)
    return repo


def test_an_unsigned_change_of_the_signers_is_ignored_and_reported(tmp_path: Path,
                                                                   keys: Keys) -> None:
    repo = _governed(tmp_path, keys)
    signers = repo.path / ".ckpt" / "allowed_signers"
    signers.write_text(signers.read_text() + keys.line("mallory"))
    repo.git("-c", "commit.gpgsign=false", "commit", "-q", "-m", "add me",
             ".ckpt/allowed_signers")
    from ckptgit.git import Git
    from ckptgit.governance import trustroot

    root = trustroot.load(Git.discover(repo.path))
    assert "mallory" not in root.signers
    assert any("without an admin's signature" in f for f in root.findings)
    res = repo.ckpt("verify", "--all", "--offline")
    assert res.code == 3 and "without an admin's signature" in res.out
    # the same change signed by an admin counts
    signers.write_text(signers.read_text() + keys.line("mallory").replace("mallory@",
                                                                           "mallory2@"))
    repo.git("-c", "commit.gpgsign=true", "commit", "-q", "-S", "-m", "admin adds mallory2",
             ".ckpt/allowed_signers")
    root = trustroot.load(Git.discover(repo.path))
    assert "mallory2@example.com" in root.signers


def test_a_clone_pins_the_root_of_trust(tmp_path: Path, keys: Keys) -> None:
    repo = _governed(tmp_path, keys)
    from ckptgit.git import Git
    from ckptgit.governance import trustroot

    git = Git.discover(repo.path)
    repo.git("config", "ckpt.trustRoot", "0" * 12)
    root = trustroot.load(git)
    assert root.signers == "" and "pins ckpt.trustRoot" in " ".join(root.findings)


def test_promote_refuses_while_the_trust_files_have_uncommitted_changes(
        tmp_path: Path, keys: Keys) -> None:
    repo = _governed(tmp_path, keys)
    repo.model()
    repo.save()
    signers = repo.path / ".ckpt" / "allowed_signers"
    signers.write_text(signers.read_text() + keys.line("mallory"))
    res = repo.ckpt("promote", "clf", "--stage", "dev", "--rationale", "x")
    assert res.code == 4 and "uncommitted" in res.err
    assert repo.git("tag", "-l") == ""


def test_saves_are_signed_and_a_stage_can_require_it(tmp_path: Path, keys: Keys) -> None:
    repo = make_repo(tmp_path)
    govern(repo, keys, CONFIG.replace("  - dev\n", "  - dev:\n      signed_saves: true\n"))
    repo.model()
    signed = repo.save()
    assert "gpgsig" in repo.git("cat-file", "commit", signed["commit"])
    repo.ckpt_ok("promote", "clf", "--stage", "dev", "--rationale", "signed save")
    repo.git("config", "--unset", "gpg.format")
    repo.model(seed=3)
    unsigned = repo.save()
    assert "gpgsig" not in repo.git("cat-file", "commit", unsigned["commit"])
    use_key(repo.path, keys, "alice")
    res = repo.ckpt("promote", "clf", "--stage", "dev", "--rationale", "unsigned save")
    assert res.code == 3 and "signed saves only" in res.err


def test_a_name_that_is_another_checkpoints_id_prefix_is_ambiguous(repo: Repo) -> None:
    repo.model()
    first = repo.save()
    prefix = first["id"][:6]
    repo.model("models/x.safetensors", seed=4)
    repo.save("models/x.safetensors", prefix)
    res = repo.ckpt("show", prefix)
    assert res.code != 0 and first["id"] in res.err + res.out and "both" in res.err
    assert repo.ckpt_ok("show", f"{prefix}@latest", "--json").json()["name"] == prefix


def test_init_points_plain_git_at_the_signers(repo: Repo) -> None:
    assert repo.git("config", "gpg.ssh.allowedSignersFile").strip() == ".ckpt/allowed_signers"


def test_promote_decides_by_the_trusted_rules_not_an_unsigned_change(
        tmp_path: Path, keys: Keys) -> None:
    """A committed but unsigned change lowering canary's approvals is ignored by promote; the
    same change signed by an admin counts."""
    repo = _governed(tmp_path, keys)
    repo.model()
    repo.save()
    config = repo.path / ".ckpt" / "config.yaml"
    strict = "      approvals: 1\n      requires_previous: true\n      signers: [alice"
    assert strict in config.read_text()
    config.write_text(config.read_text().replace(strict, strict.replace(
        "approvals: 1", "approvals: 0").replace("true", "false")))
    repo.git("-c", "commit.gpgsign=false", "commit", "-q", "-m", "no approvals",
             ".ckpt/config.yaml")
    res = repo.ckpt("promote", "clf", "--stage", "canary", "--rationale", "x")
    assert res.code == 4, res.err
    assert repo.git("tag", "-l") == ""
    config.write_text(config.read_text() + "# signed\n")
    repo.git("-c", "commit.gpgsign=true", "commit", "-q", "-S", "-m", "admin: no approvals",
             ".ckpt/config.yaml")
    repo.ckpt_ok("promote", "clf", "--stage", "canary", "--rationale", "x")
