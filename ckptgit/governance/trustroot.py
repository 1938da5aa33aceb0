"""Where the rules and keys that judge every tag come from: a trusted revision, never the work tree.

Locally that is the protected branch as last fetched (``refs/remotes/origin/main``), else the
local ``main`` when there is no remote copy; ``git config ckpt.trustedRef REF`` names another.
The server uses its own copy (``hooks install --server``). At that revision the history of
``.ckpt/allowed_signers``, ``.ckpt/revoked_signers`` and ``.ckpt/config.yaml`` is replayed
from the root of trust, as gittuf does: the first commit whose allowed_signers lists a key is
the root (a clone pins it with ``git config ckpt.trustRoot COMMIT``), and each later change
counts only when its commit is SSH-signed by a principal under ``admins:`` in the rules in
force before it. An unsigned change is ignored and reported, so a teammate who commits a new
key of their own gains nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ckptgit.config import CONFIG_PATH, Config, parse
from ckptgit.errors import CkptError
from ckptgit.git import Git, separators
from ckptgit.governance.sigcheck import Keyring, check, split_commit

SIGNERS_PATH = ".ckpt/allowed_signers"
REVOKED_PATH = ".ckpt/revoked_signers"
FILES = (SIGNERS_PATH, REVOKED_PATH, CONFIG_PATH)
TRUSTED_DIR = "ckpt-trusted"  # inside a bare repository, written by 'hooks install --server'
_CACHE_VERSION = 2


@dataclass(frozen=True)
class TrustRoot:
    """The trusted rules and keys, where they came from, and what was refused on the way."""

    source: str  # "refs/remotes/origin/main@<commit>", "server copy", …
    signers: str
    revoked: str | None
    config_text: bytes
    findings: tuple[str, ...] = ()  # trust changes refused on the way (verify reports them)
    ignored: tuple[str, ...] = ()  # commits whose unsigned trust changes were ignored, in
    # the order of ``findings``

    @cached_property
    def config(self) -> Config:
        try:
            return parse(self.config_text, f"trusted {CONFIG_PATH}") if self.config_text \
                else Config()
        except CkptError:
            return Config()

    @cached_property
    def keyring(self) -> Keyring:
        return Keyring(self.signers, self.revoked)

    @cached_property
    def digest(self) -> str:
        """Identifies these rules and keys: verdicts are cached per (tag, digest)."""
        h = hashlib.sha256()
        for part in (self.signers.encode(), (self.revoked or "").encode(), self.config_text):
            h.update(hashlib.sha256(part).digest())
        return h.hexdigest()

    empty: str = ""  # why nothing is trusted yet (no key committed), when that is so

    @property
    def admins(self) -> tuple[str, ...]:
        return admins_of(self.config)


def admins_of(cfg: Config) -> tuple[str, ...]:
    raw = cfg.raw.get("admins") or ()
    return tuple(str(a) for a in raw) if isinstance(raw, list) else ()


_CANDIDATES = ("refs/remotes/origin/main", "refs/remotes/origin/master", "refs/heads/main",
               "refs/heads/master")


def trusted_revision(git: Git, settings: dict[str, str] | None = None,
                     ) -> tuple[str, str] | None:
    """(ref, commit) whose tree holds the trusted rules: ``ckpt.trustedRef``, else the
    protected branch as fetched from origin, else the local one."""
    settings = settings if settings is not None else _settings(git)
    pinned = settings.get("ckpt.trustedref")
    if pinned:
        commit = git.rev_parse(f"{pinned}^{{commit}}")
        return (pinned, commit) if commit else None
    found = {r.name: r.target for r in git.for_each_ref_many(_CANDIDATES)}
    return next(((ref, found[ref]) for ref in _CANDIDATES if ref in found), None)


def _settings(git: Git) -> dict[str, str]:
    """Every ``ckpt.*`` git setting in one process (keys lowercased, as git reports them)."""
    out = git.run(["config", "--get-regexp", r"^ckpt\."], check=False).stdout.decode()
    return dict(line.partition(" ")[::2] for line in out.splitlines())


def load(git: Git) -> TrustRoot:
    """The trust root at the trusted revision (cached per commit under ``.git/ckpt/``)."""
    if git.root == git.git_dir:
        return server(git)
    settings = _settings(git)
    found = trusted_revision(git, settings)
    if found is None:
        return TrustRoot("none", "", None, b"", empty="no trusted branch (main) to read "
                                                       ".ckpt/allowed_signers from")
    ref, commit = found
    return at(git, commit, ref, settings)


def at(git: Git, commit: str, ref: str = "", settings: dict[str, str] | None = None,
       ) -> TrustRoot:
    """The trust root replayed at ``commit`` (cached per commit and pin): what approvals,
    promotions and a server's trusted copy read, so an unsigned change never counts."""
    settings = settings if settings is not None else _settings(git)
    pin = settings.get("ckpt.trustroot", "")
    cached = _read_cache(git, commit, pin)
    if cached is not None:
        return cached
    root = replay(git, commit, pin, f"{ref or commit[:12]}@{commit[:12]}")
    _write_cache(git, commit, pin, root)
    return root


def rules(git: Git, work: Config) -> Config:
    """The stage rules a promotion, revert, unassign or lock decides by: the trusted
    revision's when admins are named there (so a committed but unsigned change lowering
    ``approvals`` counts for nothing), else the committed work tree's ``work``. Refused while
    ``.ckpt/`` has uncommitted changes, which would not count anyway."""
    from ckptgit.errors import PolicyError

    dirty = git.out(["status", "--porcelain", "--untracked-files=all", "--", ".ckpt"]).strip()
    if dirty:
        raise PolicyError(".ckpt/ has uncommitted changes; trust comes from committed, "
                          "admin-signed rules only: commit them (signed by an admin) or "
                          "'git restore .ckpt' first")
    trusted = load(git)
    return trusted.config if trusted.admins else work


def server(git: Git) -> TrustRoot:
    """A server's trusted copy, written by an admin with ``hooks install --server``."""
    base = git.git_dir / TRUSTED_DIR
    texts = {}
    for name in ("allowed_signers", "revoked_signers", "config.yaml"):
        path = base / name
        texts[name] = path.read_bytes() if path.is_file() else None
    if texts["allowed_signers"] is None or texts["config.yaml"] is None:
        return TrustRoot("none", "", None, b"", empty=f"this server has no trusted rules in "
                                                       f"{base}: an admin runs 'git ckpt hooks "
                                                       "install --server PATH' from a trusted "
                                                       "checkout")
    revoked = texts["revoked_signers"]
    return TrustRoot("server copy", texts["allowed_signers"].decode("utf-8", "replace"),
                     revoked.decode("utf-8", "replace") if revoked is not None else None,
                     texts["config.yaml"])


def replay(git: Git, commit: str, pin: str, source: str) -> TrustRoot:
    """Walk the trust files' history at ``commit`` from the root of trust, keeping only the
    changes an admin signed."""
    changes = _changes(git, commit)
    specs = [f"{c}:{p}" for c, _ in changes for p in FILES]
    blobs = git.cat_files(specs)
    raws = git.cat_files([c for c, _ in changes])
    state: TrustRoot | None = None
    findings: list[str] = []
    ignored: list[str] = []
    for sha, when in changes:
        files = {p: blobs.get(f"{sha}:{p}") for p in FILES}
        candidate = _root_from(files, source)
        if state is None:
            if not _lists_a_key(candidate.signers):
                continue
            if pin and not sha.startswith(pin):
                ignored.append(sha)
                findings.append(f"the root of trust is commit {sha[:12]}, but this clone pins "
                                f"ckpt.trustRoot={pin}: nothing is trusted")
                break
            state = candidate
            continue
        if candidate.digest == state.digest:
            continue
        verdict = _admin_signed(raws.get(sha) or b"", state, when)
        if verdict is None:
            state = candidate
        else:
            ignored.append(sha)
            findings.append(f"commit {sha[:12]} changes {', '.join(_changed(files, state))} "
                            f"without an admin's signature ({verdict}): the change is ignored")
    if state is None:
        return TrustRoot(source, "", None, b"", tuple(findings), tuple(ignored),
                         empty=f"no commit in {source} lists a key in {SIGNERS_PATH}: nothing "
                               "is trusted yet")
    return TrustRoot(source, state.signers, state.revoked, state.config_text, tuple(findings),
                     tuple(ignored))


def _changes(git: Git, commit: str) -> list[tuple[str, int]]:
    """Commits touching the trust files, oldest first (ancestors before descendants)."""
    field, record = separators()
    out = git.out(["log", "--reverse", "--topo-order", "--full-history",
                   f"--format={record}%H{field}%ct", commit, "--", *FILES])
    rows = []
    for rec in out.split(record)[1:]:
        sha, _, when = rec.strip().partition(field)
        rows.append((sha, int(when or 0)))
    return rows


def _root_from(files: dict[str, bytes | None], source: str) -> TrustRoot:
    revoked = files.get(REVOKED_PATH)
    return TrustRoot(source, (files.get(SIGNERS_PATH) or b"").decode("utf-8", "replace"),
                     revoked.decode("utf-8", "replace") if revoked is not None else None,
                     files.get(CONFIG_PATH) or b"")


def _lists_a_key(text: str) -> bool:
    return any(ln.strip() and not ln.strip().startswith("#") for ln in text.split("\n"))


def _changed(files: dict[str, bytes | None], state: TrustRoot) -> list[str]:
    before = {SIGNERS_PATH: state.signers.encode(), CONFIG_PATH: state.config_text,
              REVOKED_PATH: state.revoked.encode() if state.revoked is not None else None}
    return [p for p in FILES if (files.get(p) or b"") != (before[p] or b"")]


def _admin_signed(raw: bytes, state: TrustRoot, when: int) -> str | None:
    """None when the commit is SSH-signed by an admin of ``state``, else why not."""
    admins = state.admins
    if not admins:
        return f"the rules in force name no admins: add 'admins: [PRINCIPAL]' to {CONFIG_PATH}"
    payload, signature = split_commit(raw)
    verdict = check(state.keyring, payload, signature, None, when, admins)
    return verdict.problem


# -- cache -------------------------------------------------------------------------------------
def _cache_file(git: Git, commit: str, pin: str) -> Any:
    key = hashlib.sha256(f"{commit}\0{pin}".encode()).hexdigest()[:32]
    return git.ckpt_dir / "trust" / f"v{_CACHE_VERSION}-{key}.json"


def _read_cache(git: Git, commit: str, pin: str) -> TrustRoot | None:
    try:
        data = json.loads(_cache_file(git, commit, pin).read_text())
        return TrustRoot(data["source"], data["signers"], data["revoked"],
                         data["config"].encode("utf-8", "surrogateescape"),
                         tuple(data["findings"]), tuple(data["ignored"]), data["empty"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_cache(git: Git, commit: str, pin: str, root: TrustRoot) -> None:
    path = _cache_file(git, commit, pin)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({
            "source": root.source, "signers": root.signers, "revoked": root.revoked,
            "config": root.config_text.decode("utf-8", "surrogateescape"),
            "findings": list(root.findings), "ignored": list(root.ignored),
            "empty": root.empty}))
        os.replace(tmp, path)
    except OSError:
        pass  # a cache; the next run replays again
