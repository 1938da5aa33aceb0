"""Installing the hook shims from ``hooks/`` into a repository."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ckptgit.git import Git
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
