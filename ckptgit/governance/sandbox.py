"""Rehearsing a revert away from the user's work tree.

A temporary ``git worktree`` at the target commit gets the checkpoint's bytes (artifact and
companions) rehydrated and sealed, and the stage's gates run there, on the code that trained
it. Nothing in the real work tree changes unless everything passes; the report is kept in
git (``.ckpt/reports/<digest>.json``) and its digest goes into the tag.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ckptgit.config import Gate
from ckptgit.errors import CkptError
from ckptgit.governance import artifacts, gates
from ckptgit.model import Checkpoint, Sidecar
from ckptgit.repo import Repo

REPORTS_DIR = ".ckpt/reports"


@dataclass
class Rehearsal:
    """Verified bytes ready to move into the work tree, and what the rehearsal found."""

    staged: dict[str, Path]
    results: list[gates.GateResult] = field(default_factory=list)
    report: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results) and not self.report.get("error")

    def report_bytes(self) -> bytes:
        return (json.dumps(self.report, indent=2, sort_keys=True) + "\n").encode()

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.report_bytes()).hexdigest()

    @property
    def report_path(self) -> str:
        return f"{REPORTS_DIR}/{self.digest}.json"


@contextmanager
def rehearse(repo: Repo, ckpt: Checkpoint, doc: Sidecar, stage: str,
             stage_gates: Sequence[Gate], *, worktree: bool) -> Iterator[Rehearsal]:
    """Bytes rehydrated (and gates run) in a worktree at the checkpoint's commit, or with
    ``worktree=False`` in a scratch folder with gates run from the work tree."""
    scratch = repo.git.ckpt_dir / "tmp"
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="sandbox-", dir=scratch) as tmp:
        place = Path(tmp) / "tree"
        if worktree:
            repo.git.worktree_add(place, ckpt.commit)
        try:
            yield _run(repo, ckpt, doc, stage, stage_gates, place, worktree)
        finally:
            if worktree:
                repo.git.worktree_remove(place)


def _run(repo: Repo, ckpt: Checkpoint, doc: Sidecar, stage: str,
         stage_gates: Sequence[Gate], place: Path, worktree: bool) -> Rehearsal:
    start = time.time()
    parts = artifacts.pieces(ckpt, doc)
    report: dict[str, Any] = {"kind": "ckptgit sandbox report", "name": ckpt.name,
                              "id": ckpt.id, "commit": ckpt.commit, "stage": stage,
                              "worktree": worktree, "started_at": int(start)}
    try:
        staged = artifacts.materialize(repo, ckpt, parts, place)
    except CkptError as exc:
        report["error"] = str(exc)
        raise
    report["sealed"] = [{"path": p.path, "sha256": p.sha256, "verified": True} for p in parts]
    cwd = place if worktree else repo.root
    results = gates.run(stage_gates, ckpt, stage, cwd=cwd, artifact=staged[ckpt.path], doc=doc)
    report["gates"] = [r.to_dict() for r in results]
    report["seconds"] = round(time.time() - start, 3)
    report["passed"] = all(r.passed for r in results)
    return Rehearsal(staged, results, report)
