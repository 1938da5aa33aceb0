"""``git ckpt hooks install``: the hook shims from ``hooks/`` into a repository, and a server's
trusted copy of the rules its pre-receive enforces."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ckptgit.atomic import write_atomic
from ckptgit.git import Git
from ckptgit.governance.refupdates import TRUSTED_DIR
from ckptgit.resources import resource_dir

CLIENT_HOOKS = ("pre-commit", "pre-push")
MARKER = "ckptgit"


def hooks_dir(git: Git) -> Path:
    path = Path(git.out(["rev-parse", "--git-path", "hooks"]).strip())
    return path if path.is_absolute() else git.root / path


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


def install_server_trust(bare: Path, root: Path) -> list[str]:
    """Copy this checkout's rules and signers into ``bare`` as the server's trusted copy."""
    from ckptgit import storage
    from ckptgit.governance import tagsigning

    dest = bare / TRUSTED_DIR
    copied = []
    for rel, name in ((".ckpt/config.yaml", "config.yaml"),
                      (tagsigning.SIGNERS_PATH, "allowed_signers"),
                      (tagsigning.REVOKED_PATH, "revoked_signers")):
        src = root / rel
        if src.is_file():
            write_atomic(dest / name, src.read_bytes())
            copied.append(rel)
    dest.mkdir(parents=True, exist_ok=True)
    if storage.write_remote_config(dest / "dvc", root) is not None:
        copied.append("the DVC remote's address")
    return copied


def install_server(git: Git, bare: Git, force: bool = False) -> list[str] | None:
    """pre-receive into ``bare`` and the trusted copy of ``git``'s rules; None when a foreign
    pre-receive is there and ``force`` is not given (nothing is changed then)."""
    if not install(bare, names=("pre-receive",), force=force):
        return None
    return install_server_trust(bare.git_dir, git.root)
