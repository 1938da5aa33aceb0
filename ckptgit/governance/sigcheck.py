"""SSH signatures of git objects, split and checked exactly as git and ssh-keygen do.

Splitting: a tag's signature starts at the LAST line that begins with a signature marker of
any format git knows (git's ``parse_signed_buffer``), so a marker quoted inside a message
cannot cut it where git would not; a commit's signature is its ``gpgsig`` header. Only SSH
signatures are trusted: an OpenPGP or X.509 one is reported as such, never checked against
whatever keyring the verifying machine happens to hold.

Checking: the SSHSIG (namespace ``git``, sha256 or sha512) is verified in-process with the
``sshsig`` library (``ssh-keygen -Y check-novalidate``), then the key is looked up in the
trusted allowed-signers text (read by the one parser, ``allowed_signers``) the way
``ssh-keygen -Y verify -I PRINCIPAL`` does: a line whose
principal patterns match, whose ``namespaces`` include ``git``, valid at the signing time
(``valid-after``/``valid-before``), and not revoked. One process per signature (what
``git verify-tag`` costs) made 1,000 tags take 5 s here; in-process it is ~0.1 ms each. Key
types the library does not know (ECDSA, security keys) go to ``ssh-keygen`` itself.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path

from ckptgit.governance import allowed_signers

SSH_MARKER = b"-----BEGIN SSH SIGNATURE-----"
_MARKERS = {
    b"-----BEGIN PGP SIGNATURE-----": "openpgp",
    b"-----BEGIN PGP MESSAGE-----": "openpgp",
    b"-----BEGIN SIGNED MESSAGE-----": "x509",
    SSH_MARKER: "ssh",
}
NAMESPACE = "git"
_HASHES = (b"sha256", b"sha512")


# -- splitting ---------------------------------------------------------------------------------
def split_tag(raw: bytes) -> tuple[bytes, bytes]:
    """(signed payload, signature) of a tag object, at the last line starting with a marker."""
    match, pos = len(raw), 0
    markers = tuple(_MARKERS)
    while pos < len(raw):
        if raw.startswith(markers, pos):
            match = pos
        nl = raw.find(b"\n", pos)
        pos = len(raw) if nl < 0 else nl + 1
    return raw[:match], raw[match:]


def split_commit(raw: bytes) -> tuple[bytes, bytes]:
    """(signed payload, signature) of a commit: the object without its ``gpgsig`` header."""
    head, sep, body = raw.partition(b"\n\n")
    kept: list[bytes] = []
    sig: list[bytes] = []
    in_sig = False
    for line in head.split(b"\n"):
        if line.startswith(b"gpgsig "):
            in_sig = True
            sig.append(line[len(b"gpgsig "):])
        elif in_sig and line.startswith(b" "):
            sig.append(line[1:])
        else:
            in_sig = False
            kept.append(line)
    signature = b"\n".join(sig) + b"\n" if sig else b""
    return b"\n".join(kept) + sep + body, signature


def kind(signature: bytes) -> str:
    """``ssh``, ``openpgp``, ``x509``, or ``""`` when there is no signature."""
    for marker, name in _MARKERS.items():
        if signature.startswith(marker):
            return name
    return ""


# -- trusted keys ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Keyring:
    """The trusted allowed-signers and revoked-keys texts, read once by the one parser
    (``allowed_signers``)."""

    signers_text: str
    revoked_text: str | None = None

    @cached_property
    def signers(self) -> tuple[allowed_signers.Signer, ...]:
        return tuple(allowed_signers.signers(self.signers_text))

    @cached_property
    def revoked(self) -> frozenset[str]:
        return frozenset(allowed_signers.public_keys(self.revoked_text or ""))

    def principals_of(self, key: str) -> list[str]:
        return [n for s in self.signers if s.key == key for n in s.literal_principals()]


def _valid_at(signer: allowed_signers.Signer, when: int | None) -> str | None:
    """Why ``signer``'s key was not valid at ``when`` (ssh-keygen's -Overify-time), or None."""
    if when is None:
        return None
    after, before = _when(signer.valid_after), _when(signer.valid_before)
    if after is not None and when < after:
        return "signed before its key became valid (valid-after)"
    if before is not None and when > before:
        return "signed after its key expired (valid-before)"
    return None


def _when(value: object) -> int | None:
    """ssh-keygen's YYYYMMDD[HHMM[SS]][Z], as unix seconds: UTC with the Z, else this machine's
    time zone, as ssh-keygen reads it (so our verdict and ``git verify-tag``'s agree)."""
    if not isinstance(value, str) or not value:
        return None
    text, utc = value.removesuffix("Z"), value.endswith("Z")
    # by length: strptime alone would read "0930" as 09:03:0 under %H%M%S
    fmt = {8: "%Y%m%d", 12: "%Y%m%d%H%M", 14: "%Y%m%d%H%M%S"}.get(len(text))
    if fmt is not None and text.isdigit():
        try:
            moment = datetime.strptime(text, fmt)
            return int((moment.replace(tzinfo=UTC) if utc else moment).timestamp())
        except ValueError:
            pass
    return 0  # unreadable: a date no signature can satisfy on both sides


# -- verifying ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Check:
    """Who signed (the principal the key is trusted as), or why it does not count."""

    principal: str | None
    problem: str | None


def check(ring: Keyring, payload: bytes, signature: bytes, principal: str | None,
          when: int | None, allowed: Sequence[str] = ()) -> Check:
    """Verify ``signature`` over ``payload`` as made by ``principal`` (any trusted one when
    None) at ``when``; ``allowed`` further narrows the principals that may have signed."""
    what = kind(signature)
    if what != "ssh":
        return Check(None, "not signed" if not what else
                     f"signed with {what}: only SSH keys in allowed_signers are trusted")
    key, problem = _key_of(payload, signature)
    if key is None:
        if problem == "unsupported":
            return _with_ssh_keygen(ring, payload, signature, principal, when, allowed)
        return Check(None, problem)
    if key in ring.revoked:
        return Check(None, "signed by a revoked key (listed in .ckpt/revoked_signers)")
    lines = [s for s in ring.signers if s.key == key and not s.cert_authority
             and s.allows_namespace(NAMESPACE)]
    if not lines:
        return Check(None, "signed by a key not allowed here (not in the trusted allowed_signers)")
    wanted = [principal] if principal else [n for s in lines for n in s.literal_principals()]
    for name in wanted:
        for line in lines:
            if not line.grants(name):
                continue
            expired = _valid_at(line, when)
            if expired:
                return Check(None, expired)
            if allowed and name not in allowed:
                return Check(None, f"signed by {name}, who is not allowed to sign this "
                                   f"(allowed: {', '.join(allowed)})")
            return Check(name, None)
    if principal:
        return Check(None, f"the key that signed is not {principal}'s key in allowed_signers "
                           f"(it belongs to {', '.join(ring.principals_of(key)) or 'nobody'})")
    return Check(None, "signed by a key no named principal holds")


def _key_of(payload: bytes, signature: bytes) -> tuple[str | None, str | None]:
    """``KEYTYPE BASE64`` of the key whose signature this is, after checking it
    cryptographically."""
    from sshsig.sshsig import SshsigSignature, do_sshsig_verify

    try:
        outer = SshsigSignature.from_armored(signature.decode("ascii"))
    except (ValueError, NotImplementedError, UnicodeDecodeError):
        return None, "the SSH signature does not parse"
    if outer.hash_algo not in _HASHES:
        return None, "the SSH signature uses a hash ssh-keygen refuses"
    key: object
    try:
        key = do_sshsig_verify(outer, io.BytesIO(payload), NAMESPACE)
    except (ValueError, AssertionError) as exc:  # a malformed inner signature blob
        key = exc
    if isinstance(key, NotImplementedError):
        return None, "unsupported"
    if isinstance(key, Exception) or not hasattr(key, "openssh_str"):
        return None, "bad signature (the signed content was changed, or not git's namespace)"
    return " ".join(str(key.openssh_str()).split()[:2]), None


def _with_ssh_keygen(ring: Keyring, payload: bytes, signature: bytes, principal: str | None,
                     when: int | None, allowed: Sequence[str]) -> Check:
    """Key types the library cannot read: ask ``ssh-keygen -Y verify`` for one principal."""
    from ckptgit import proc

    with tempfile.TemporaryDirectory(prefix="ckpt-sig-") as tmp:
        base = Path(tmp)
        (base / "signers").write_text(ring.signers_text)
        (base / "sig").write_bytes(signature)
        opts = ["-f", str(base / "signers"), "-s", str(base / "sig")]
        if when is not None:
            opts.append(f"-Overify-time={datetime.fromtimestamp(when, UTC):%Y%m%d%H%M%SZ}")
        revoked = []
        if ring.revoked_text and ring.revoked_text.strip():
            (base / "revoked").write_text(ring.revoked_text)
            revoked = ["-r", str(base / "revoked")]
        names = [principal] if principal else (proc.run_input(
            ["ssh-keygen", "-Y", "find-principals", *opts], b"").stdout.decode().split())
        for name in names:
            done = proc.run_input(["ssh-keygen", "-Y", "verify", "-n", NAMESPACE, "-I", name,
                                   *opts, *revoked], payload)
            if done.returncode == 0:
                if allowed and name not in allowed:
                    return Check(None, f"signed by {name}, who is not allowed to sign this")
                return Check(name, None)
    return Check(None, "not signed by a trusted key (ssh-keygen -Y verify refused it)")
