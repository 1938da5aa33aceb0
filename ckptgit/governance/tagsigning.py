"""Signed tags: create with ``git tag -s``, then prove it with the one verifier.

git 2.39 can exit 0 and leave an UNSIGNED tag when signing fails, so every tag we make is
judged right away by ``governance.verifier`` (signature, signer's permission, trailers, the
save it points at) against the trusted rules, and deleted if that fails. Only SSH signatures
are trusted: an allowed-signers file is the one trust root a repository can carry with it
(an OpenPGP keyring is per machine).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from ckptgit import faults
from ckptgit.errors import CkptError, IntegrityError, UsageError
from ckptgit.git import Git
from ckptgit.governance import allowed_signers

SIGNERS_PATH = ".ckpt/allowed_signers"
REVOKED_PATH = ".ckpt/revoked_signers"
SSH_SIGNATURE = "-----BEGIN SSH SIGNATURE-----"
ATTEMPTS = 8


class TagExists(CkptError):
    """Someone created the tag name first (a concurrent promotion); compute N again."""


def narrowed(signers_text: str, principals: Sequence[str]) -> str:
    """``allowed_signers.narrowed``: only the lines (and principals) of ``principals``."""
    return allowed_signers.narrowed(signers_text, tuple(principals))


@contextmanager
def trust_files(signers_text: str, revoked_text: str | None,
                principals: Sequence[str]) -> Iterator[tuple[Path, Path | None]]:
    """Temporary allowed-signers (narrowed) and revocation files for one ``ssh-keygen -Y
    verify`` (detached approval signatures, governance/approvals.py)."""
    with tempfile.TemporaryDirectory(prefix="ckpt-trust-") as tmp:
        signers = Path(tmp) / "allowed_signers"
        signers.write_text(narrowed(signers_text, principals))
        revoked = None
        if revoked_text and revoked_text.strip():
            revoked = Path(tmp) / "revoked_signers"
            revoked.write_text(revoked_text)
        yield signers, revoked


def preflight(git: Git) -> None:
    """Refuse early, with the fix, when git has no way to sign."""
    fmt = (git.config("gpg.format") or "openpgp").lower()
    if fmt != "ssh":
        raise UsageError("tags must be signed with an SSH key listed in .ckpt/allowed_signers: "
                         "run 'git config gpg.format ssh' and 'git config user.signingkey "
                         "~/.ssh/id_ed25519.pub'")
    if not git.config("user.signingkey") and not git.config("gpg.ssh.defaultKeyCommand"):
        raise UsageError("no signing key: run 'git config user.signingkey ~/.ssh/id_ed25519.pub' "
                         "(with 'git config gpg.format ssh')")


def signer_principal(git: Git, signers_text: str, principals: Sequence[str]) -> str:
    """The principal ``user.signingkey`` signs as, allowed for the stage; refused otherwise.

    Recorded as ``Signed-By`` inside the signed message, and hooks verify the signature
    against that principal alone, so history can name the signer without verifying each tag.
    """
    key = _public_key(git)
    if key is None:
        return ""  # a key command or agent: verification after signing still decides
    names = [n for signer in allowed_signers.signers(signers_text) if signer.key == key
             for n in signer.literal_principals()]
    allowed = [n for n in names if not principals or n in principals]
    if not allowed:
        who = ", ".join(principals) if principals else "anyone"
        raise IntegrityError(f"your signing key ({git.config('user.signingkey')}) is not in "
                             f"{SIGNERS_PATH} for this stage (allowed: {who}): ask an admin to "
                             "add it, or set 'git config user.signingkey' to an allowed key")
    return allowed[0]


def _public_key(git: Git) -> str | None:
    """``type base64`` of the configured SSH signing key, when it can be read from a file."""
    value = (git.config("user.signingkey") or "").strip()
    if value.startswith("key::"):
        value = value[5:]
    if value.startswith(("ssh-", "ecdsa-", "sk-")):
        return " ".join(value.split()[:2])
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = git.root / path
    if path.suffix == ".pub" and path.is_file():
        return " ".join(path.read_text().split()[:2])
    for pub in (path.with_name(path.name + ".pub"), path.with_suffix(".pub")):
        if pub.is_file():
            return " ".join(pub.read_text().split()[:2])
    if path.is_file():  # a private key alone: ask ssh-keygen for its public half
        from ckptgit import proc

        out = proc.output_or_none(["ssh-keygen", "-y", "-f", str(path)])
        return " ".join(out.split()[:2]) if out else None
    return None


def repo_trust(root: Path) -> tuple[str, str | None]:
    """The trusted signers and revocations (at the trusted revision, never the work tree);
    refused while ``.ckpt/`` has uncommitted changes, which would not count anyway."""
    from ckptgit.errors import PolicyError
    from ckptgit.governance import trustroot

    git = Git.discover(root)
    dirty = git.out(["status", "--porcelain", "--untracked-files=all", "--", ".ckpt"]).strip()
    if dirty:
        raise PolicyError(".ckpt/ has uncommitted changes; trust comes from committed, "
                          "admin-signed rules only: commit them (signed by an admin) or "
                          "'git restore .ckpt' first")
    trust = trustroot.load(git)
    if not trust.signers.strip():
        why = trust.empty or "; ".join(trust.findings) or "no trusted allowed_signers"
        raise UsageError(f"nobody is trusted to sign yet ({why}): commit your key to "
                         f"{SIGNERS_PATH} on main")
    return trust.signers, trust.revoked


def create(git: Git, make_name: Callable[[], tuple[str, int]], commit: str, message: str,
           signers_text: str, revoked_text: str | None, principals: Sequence[str]) -> str:
    """Create a signed tag named by ``make_name()`` on ``commit``, verified; returns its name.

    ``make_name`` also gives the earliest tagger date allowed: GTO orders events by tagger
    date (in whole seconds) rather than by counter, so a tag is never made in the same second
    as the previous event of its artifact (see ``_tag_date``), keeping both readings equal.
    Tag creation is atomic in git: when a concurrent promotion took the name first, the name
    is computed again (the next counter) and creation retried.
    """
    for _ in range(ATTEMPTS):
        tag, floor = make_name()
        date = _tag_date(git.committer_time(), floor)
        try:
            _create_once(git, tag, commit, message, date)
        except TagExists:
            continue
        faults.point("tagged")
        obj = git.rev_parse(f"refs/tags/{tag}") or ""
        from ckptgit.governance import verifier

        verdict = verifier.judge(git, [(tag, obj)])[tag]
        if not verdict.ok:
            git.delete_tag(tag, obj)
            raise IntegrityError(
                f"tag {tag} was deleted, the verifier refused it: {'; '.join(verdict.problems)}"
                " (check 'git config user.signingkey', 'git config gpg.format ssh', and that "
                f"your key is in the trusted {SIGNERS_PATH} for this stage)")
        return tag
    raise CkptError(f"could not get a free tag name after {ATTEMPTS} tries (many concurrent "
                    "promotions?): run the command again")


def _tag_date(now: int | None, floor: int) -> int | None:
    """The tagger date to force, or None for git's own clock.

    With the real clock a second behind ``floor`` we wait for the next second rather than
    forge a date: tagger dates stay true (pre-receive checks them against server time). A
    fixed or skewed clock (``GIT_COMMITTER_DATE``, or a previous tag in the future) can't be
    waited out, so the tag is dated ``floor``.
    """
    if now is None or floor <= now:
        return None
    wall = time.time()
    if abs(now - wall) <= 2 and 0 < floor - wall <= 2:
        time.sleep(floor - wall + 0.01)
        return None
    return floor


def _create_once(git: Git, tag: str, commit: str, message: str, date: int | None) -> None:
    done = git.create_signed_tag(tag, commit, message, date)
    if done.returncode == 0:
        return
    if git.rev_parse(f"refs/tags/{tag}") is not None:
        raise TagExists(tag)
    err = done.stderr.decode("utf-8", "replace").strip().splitlines()
    detail = next((ln for ln in err if ln.startswith(("fatal:", "error:"))), err[-1] if err
                  else "no message")
    raise IntegrityError(f"signing tag {tag} failed ({detail}): check 'git config "
                         "user.signingkey' and 'git config gpg.format ssh'")
