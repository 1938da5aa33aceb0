"""``git ckpt hooks install``: the hook shims from ``hooks/`` into a repository, and a server's
trusted copy of the rules its pre-receive enforces."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ckptgit.atomic import write_atomic
from ckptgit.errors import PolicyError
from ckptgit.git import Git
from ckptgit.governance.refupdates import TRUSTED_DIR
from ckptgit.resources import CLIENT_HOOKS, HOOK_MARKER, hooks_dir, resource_dir

if TYPE_CHECKING:
    from ckptgit.ops.precommit import Result as FrameworkResult

MARKER = HOOK_MARKER


@dataclass(frozen=True)
class Installed:
    """What ``setup`` did: shims, the pre-commit framework, or a server's pre-receive."""

    via: str  # shims | pre-commit | server
    installed: list[str] = field(default_factory=list)  # shims written
    kept: list[str] = field(default_factory=list)  # foreign hooks left in place
    framework: FrameworkResult | None = None
    server_dir: Path | None = None  # the bare repository's git dir
    copied: list[str] | None = None  # trust files given to the server; None: hook kept


def setup(path: str | os.PathLike[str] = ".", *, force: bool = False,
          server: Path | None = None, framework: bool | None = None) -> Installed:
    """Install the client hooks of the repository at ``path`` (through the pre-commit
    framework when asked, or by default when it is in use), or ``server``'s pre-receive."""
    git = Git.discover(path)
    if server is not None:
        bare = Git.bare(server)
        return Installed("server", server_dir=bare.git_dir,
                         copied=install_server(git, bare, force))
    from ckptgit.ops import precommit

    if framework or (framework is None and precommit.detected(git)):
        return Installed("pre-commit", framework=precommit.install(git))
    done = install(git, force=force)
    return Installed("shims", installed=done, kept=[h for h in CLIENT_HOOKS if h not in done])


def install(git: Git, names: tuple[str, ...] = CLIENT_HOOKS, force: bool = False) -> list[str]:
    """Copy our shims in; a foreign hook already there is kept unless ``force``.

    Returns the names installed; the names skipped are the caller's to report.
    """
    target = hooks_dir(git)
    target.mkdir(parents=True, exist_ok=True)
    installed = []
    for name in names:
        dest = target / name
        if dest.exists() and MARKER not in dest.read_text(errors="replace") and not force:
            continue
        shutil.copyfile(resource_dir("hooks") / name, dest)
        os.chmod(dest, 0o755)  # noqa: S103 - git runs only executable hooks
        installed.append(name)
    return installed


def trusted_files(git: Git) -> dict[str, bytes]:
    """The trust files a server may be given: the trusted revision's, replayed from the root of
    trust (governance/trustroot), so an unsigned commit's change is left out. Refused when the
    work tree's differ: a dirty or unsigned local edit never becomes the server's rules."""
    from ckptgit.config import CONFIG_PATH
    from ckptgit.governance import trustroot

    found = trustroot.trusted_revision(git)
    if found is None:
        raise PolicyError("no trusted branch (main) to copy the server's rules from: commit "
                          ".ckpt/ on main first")
    ref, commit = found
    root = trustroot.at(git, commit, ref)
    if root.empty:  # no key committed yet: nothing to replay, the revision's files as they are
        blobs = git.cat_files([f"{commit}:{p}" for p in trustroot.FILES])
        view = {p: blobs.get(f"{commit}:{p}") for p in trustroot.FILES}
    else:
        view = {trustroot.SIGNERS_PATH: root.signers.encode(), CONFIG_PATH:
                root.config_text, trustroot.REVOKED_PATH:
                root.revoked.encode() if root.revoked is not None else None}
    out = {}
    for rel in trustroot.FILES:
        src = git.root / rel
        local = src.read_bytes() if src.is_file() else None
        if (local or b"") != (view[rel] or b""):
            raise PolicyError(f"{rel} in the work tree differs from the trusted revision "
                              f"{root.source} (as replayed from the root of trust): commit it "
                              "signed by an admin, push and fetch, then install again")
        if local is not None:
            out[rel] = local
    return out


def install_server_trust(bare: Path, root: Path, files: dict[str, bytes]) -> list[str]:
    """Write the trusted rules and signers into ``bare`` as the server's trusted copy."""
    from ckptgit import storage
    from ckptgit.governance import tagsigning

    dest = bare / TRUSTED_DIR
    copied = []
    for rel, name in ((".ckpt/config.yaml", "config.yaml"),
                      (tagsigning.SIGNERS_PATH, "allowed_signers"),
                      (tagsigning.REVOKED_PATH, "revoked_signers")):
        if rel in files:
            write_atomic(dest / name, files[rel])
            copied.append(rel)
    dest.mkdir(parents=True, exist_ok=True)
    if storage.write_remote_config(dest / "dvc", root) is not None:
        copied.append("the DVC remote's address")
    return copied


def install_server(git: Git, bare: Git, force: bool = False) -> list[str] | None:
    """pre-receive into ``bare`` and the trusted copy of ``git``'s rules; None when a foreign
    pre-receive is there and ``force`` is not given (nothing is changed then, nor when the
    work tree's rules are not the trusted revision's)."""
    files = trusted_files(git)
    if not install(bare, names=("pre-receive",), force=force):
        return None
    return install_server_trust(bare.git_dir, git.root, files)
