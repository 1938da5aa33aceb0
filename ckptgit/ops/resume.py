"""``git ckpt resume NAME``: lift a guardrail's pause, with a rationale, as a recorded event."""

from __future__ import annotations

from ckptgit import names
from ckptgit.errors import UsageError
from ckptgit.policy import enforce, records, runs
from ckptgit.repo import Repo


def resume(repo: Repo, name: str, rationale: str) -> runs.RunEvent:
    names.check_name(name)
    if not rationale.strip():
        raise UsageError("--rationale must say why the run may go on (e.g. 'lr lowered to "
                         "1e-4 after the NaN at step 1200')")
    rationale = enforce.trailer_text(rationale, "--rationale")
    if runs.paused(repo.git, name) is None:
        raise UsageError(f"{name!r} is not paused; nothing to resume")
    return runs.record(repo.git, runs.RunEvent("resume", name, records.now(),
                                               repo.git.identity() or "", "",
                                               rationale.strip()))


def paused(repo: Repo) -> list[runs.RunEvent]:
    """The pauses in force, one per paused name."""
    latest: dict[str, runs.RunEvent] = {}
    for event in runs.events(repo.git):
        latest.setdefault(event.name, event)
    return [e for e in latest.values() if e.action == "pause"]
