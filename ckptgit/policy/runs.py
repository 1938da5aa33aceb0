"""Pause and resume of a name's saves, as records on ``refs/ckpt/runs`` (``records.py``).

A name is paused when its newest event is a pause. Events are never rewritten: a resume is a
new record with who resumed it and why, and ``git ckpt audit`` shows both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ckptgit.git import Git
from ckptgit.policy import records


@dataclass(frozen=True)
class RunEvent:
    action: str  # pause | resume
    name: str
    when: str
    who: str
    rule: str = ""
    reason: str = ""
    checkpoint: str = ""
    commit: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action, "name": self.name, "when": self.when, "who": self.who,
                "rule": self.rule, "reason": self.reason, "checkpoint": self.checkpoint,
                "commit": self.commit}


def events(git: Git) -> list[RunEvent]:
    """Every pause and resume, newest first."""
    out = []
    for rec in records.read(git, records.RUNS_REF):
        body = rec.body
        if body.get("action") in ("pause", "resume") and isinstance(body.get("name"), str):
            out.append(RunEvent(str(body["action"]), body["name"], str(body.get("when", rec.when)),
                                str(body.get("who", "")), str(body.get("rule", "")),
                                str(body.get("reason", "")), str(body.get("checkpoint", "")),
                                rec.commit))
    return out


def paused(git: Git, name: str) -> RunEvent | None:
    """The pause in force for ``name``, or None."""
    if git.rev_parse(records.RUNS_REF) is None:
        return None
    latest = next((e for e in events(git) if e.name == name), None)
    return latest if latest is not None and latest.action == "pause" else None


def record(git: Git, event: RunEvent) -> RunEvent:
    body = {k: v for k, v in event.to_dict().items() if k != "commit"}
    commit = records.append(git, records.RUNS_REF, f"ckpt: {event.action} {event.name}", body,
                            {"Ckpt-Action": [event.action], "Ckpt-Name": [event.name]})
    return RunEvent(**{**body, "commit": commit})
