"""Who holds which stage: the latest VALID assignment per (name, stage), as the verifier judges
the tags (``governance.history``), for REF resolution (``NAME#STAGE``), ``show`` and ``check``."""

from __future__ import annotations

from ckptgit.git import Git
from ckptgit.model import StageAssignment


def holders(git: Git, name: str | None = None) -> dict[tuple[str, str], StageAssignment]:
    """The latest VALID assignment per (name, stage); unverified tags never count."""
    from ckptgit.governance import history

    events, _ = history.read(git, name)
    return {key: StageAssignment(ev.name, ev.stage or "", ev.tag, ev.commit, ev.number or 0)
            for key, ev in history.holders(events).items()}
