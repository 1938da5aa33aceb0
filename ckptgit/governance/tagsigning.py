"""Signed tags: create with ``git tag -s``, then prove it with ``git verify-tag``.

git 2.39 can exit 0 and leave an UNSIGNED tag when signing fails, so every tag we make is
verified right away against ``.ckpt/allowed_signers`` narrowed to the principals allowed for
its stage, and deleted if that fails. Verdicts come from exit codes; the text is only shown.
Only SSH signatures are trusted: an allowed-signers file is the one trust root a repository
can carry with it (an OpenPGP keyring is per machine).
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
    """Temporary allowed-signers (narrowed) and revocation files for one ``verify-tag``."""
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
    signers = root / SIGNERS_PATH
    revoked = root / REVOKED_PATH
    if not signers.is_file():
        raise UsageError(f"{SIGNERS_PATH} is missing: run 'git ckpt init', then add your key")
    return signers.read_text(), revoked.read_text() if revoked.is_file() else None


def verify(git: Git, tags: Sequence[str], signers_text: str, revoked_text: str | None,
           principals: Sequence[str]) -> dict[str, str | None]:
    """Each tag (name or object id) -> None when validly signed by an allowed principal, else
    why not. One ``verify-tag`` for the lot; per tag only when the lot fails."""
    if not tags:
        return {}
    with trust_files(signers_text, revoked_text, principals) as (signers, revoked):
        done = git.verify_tags(tags, signers, revoked)
        if done.returncode == 0:
            return dict.fromkeys(tags)
        verdicts: dict[str, str | None] = {}
        for tag in tags:
            one = git.verify_tags([tag], signers, revoked) if len(tags) > 1 else done
            if one.returncode == 0:
                verdicts[tag] = None
            elif revoked is not None and git.verify_tags([tag], signers).returncode == 0:
                # ssh-keygen only says "Could not verify signature" for a revoked key
                verdicts[tag] = "signed by a revoked key"
            else:
                verdicts[tag] = _reason(one.stderr, principals)
        return verdicts


def _reason(stderr: bytes, principals: Sequence[str]) -> str:
    text = stderr.decode("utf-8", "replace")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not lines or "no signature found" in text:
        return "not signed"
    if "revoked" in text.lower():
        return "signed by a revoked key"
    if "No principal matched" in text or "allowed signers" in text.lower():
        who = ", ".join(principals) if principals else "anyone in the trusted allowed_signers"
        return f"signed by a key not allowed here (allowed: {who})"
    return f"bad signature ({lines[-1]})"


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
        verdict = verify(git, [tag], signers_text, revoked_text, principals)[tag]
        raw = git.cat_files([obj]).get(obj) or b""
        if verdict is None and SSH_SIGNATURE.encode() not in raw:
            verdict = "not signed with an SSH key"
        if verdict is not None:
            git.delete_tag(tag, obj)
            raise IntegrityError(
                f"tag {tag} was {verdict}, so it was deleted: check 'git config "
                "user.signingkey' and 'git config gpg.format ssh', and that your key is in "
                f"{SIGNERS_PATH} for this stage")
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
