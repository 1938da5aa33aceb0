"""``git ckpt hook NAME``: run one hook's checks (``governance/refupdates.py``) in the
repository git runs it in."""

from __future__ import annotations

from collections.abc import Sequence

from ckptgit.git import Git

HOOKS = ("pre-commit", "pre-push", "pre-receive")


def run(name: str, args: Sequence[str], stdin_lines: Sequence[str]) -> list[str]:
    """The problems hook ``name`` finds (empty: git goes on); ``args`` and ``stdin_lines`` are
    what git gave the hook."""
    from ckptgit.governance import refupdates

    if name == "pre-commit":
        return refupdates.pre_commit(Git.discover("."))
    if name == "pre-push":
        return refupdates.pre_push(Git.discover("."), args[0] if args else "origin", stdin_lines)
    return refupdates.pre_receive(Git.bare("."), stdin_lines)
