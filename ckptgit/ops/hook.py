"""``git ckpt hook NAME``: run one hook's checks (``governance/refupdates.py``) in the
repository git runs it in."""

from __future__ import annotations

from collections.abc import Sequence

from ckptgit import hooklines
from ckptgit.git import Git

HOOKS = ("pre-commit", "pre-push", "pre-receive")


def run(name: str, args: Sequence[str], stdin_lines: Sequence[str]) -> list[str]:
    """The problems hook ``name`` finds (empty: git goes on); ``args`` and ``stdin_lines`` are
    what git gave the hook."""
    from ckptgit.governance import refupdates
    from ckptgit.policy import hooks

    git = Git.bare(".") if name == "pre-receive" else Git.discover(".")
    if name == "pre-commit":
        found = refupdates.pre_commit(git)
    elif name == "pre-push":
        found = refupdates.pre_push(git, args[0] if args else "origin", stdin_lines,
                                    args[1] if len(args) > 1 else None)
    else:
        found = refupdates.pre_receive(git, stdin_lines)
    # git writes every line in its form: one that is not is refused, never skipped unchecked
    return hooklines.unreadable(name, stdin_lines) + found + hooks.problems(name, git, args,
                                                                             stdin_lines)
