"""Policy records kept in git, append-only: one commit (empty tree, JSON body) per record on a
dedicated ref, so they travel with ``git push origin 'refs/ckpt/*'`` and survive any clone.

- ``refs/ckpt/policy-log``: every guardrail evaluation (rule, result, override, pause),
  including refusals that made no checkpoint. ``git ckpt policy stats`` reads it.
- ``refs/ckpt/runs``: pause and resume of a name. Whether a name is paused is its newest event.
- ``refs/ckpt/retention``: each ``git ckpt prune`` run, with the checkpoints it pruned.

Writers take the commit lock and move the ref by compare-and-swap, so concurrent saves never
drop one another's records.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ckptgit import workfiles
from ckptgit.git import Git

LOG_REF = "refs/ckpt/policy-log"
RUNS_REF = "refs/ckpt/runs"
RETENTION_REF = "refs/ckpt/retention"
_MAX_BODY = 1 << 20  # a hostile record pushed to the ref is skipped, not parsed at any size


@dataclass(frozen=True)
class Record:
    commit: str
    when: str  # committer date, ISO 8601
    subject: str
    body: dict[str, Any]


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def append(git: Git, ref: str, subject: str, body: dict[str, Any],
           trailers: dict[str, list[str]] | None = None) -> str:
    """One record on ``ref``: ``subject``, the JSON ``body`` on one line, then trailers."""
    lines = [f"{key}: {value}" for key, values in (trailers or {}).items() for value in values]
    message = f"{subject}\n\n{json.dumps(body, sort_keys=True)}\n"
    if lines:
        message += "\n" + "\n".join(lines) + "\n"
    with workfiles.commit_lock(git):
        return git.append_commit(ref, message)


def read(git: Git, ref: str) -> Iterator[Record]:
    """The records on ``ref``, newest first; a line that is not a JSON object is skipped."""
    for commit, when, message in git.records(ref):
        subject, _, rest = message.partition("\n")
        body = next((ln for ln in rest.splitlines() if ln.startswith("{")), "")
        if not body or len(body) > _MAX_BODY:
            continue
        try:
            data = json.loads(body)
        except ValueError:
            continue
        if isinstance(data, dict):
            yield Record(commit, when, subject, data)
