"""Governance: signed promotion, revert and lock tags, their rules, gates, the hooks, and the
one verifier (``verifier.py``), which registers itself with REF resolution here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ckptgit import refs

if TYPE_CHECKING:  # annotations only: the hooks import this package and need neither
    from ckptgit.git import Git
    from ckptgit.model import StageAssignment


def _stage_holders(git: Git, name: str | None) -> dict[tuple[str, str], StageAssignment]:
    from ckptgit.governance.tagevents import stage_holders

    return stage_holders(git, name)


def _tag_verdict(git: Git, tag: str) -> str | None:
    from ckptgit.governance import verifier

    oid = git.rev_parse(f"refs/tags/{tag}")
    if oid is None:
        return None  # no such tag: resolution reports the unknown reference
    verdict = verifier.judge(git, [(tag, oid)])[tag]
    return None if verdict.ok else "; ".join(verdict.problems)


refs.register_verifier(_stage_holders, _tag_verdict)
