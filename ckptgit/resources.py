"""Files shipped with ckptgit: templates and hook shims.

A wheel carries them inside the package (``_resources/``); a source checkout has them at the
top level beside ``ckptgit/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ckptgit.git import Git

_PACKAGE = Path(__file__).resolve().parent

# the hook shims we ship for a client, and the word that marks a hook file as ours
CLIENT_HOOKS = ("pre-commit", "pre-push")
HOOK_MARKER = "ckptgit"


def hooks_dir(git: Git) -> Path:
    """Where ``git`` runs its hooks from (core.hooksPath, worktrees: as git resolves it)."""
    path = Path(git.out(["rev-parse", "--git-path", "hooks"]).strip())
    return path if path.is_absolute() else git.root / path


def resource_dir(kind: str) -> Path:
    for candidate in (_PACKAGE / "_resources" / kind, _PACKAGE.parent / kind):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"ckptgit installation is missing its {kind}/ folder; reinstall it")


def template(name: str) -> str:
    return (resource_dir("templates") / name).read_text()
