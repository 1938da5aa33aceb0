"""``git ckpt show``: the full sidecar of one checkpoint and the stages it holds."""

from __future__ import annotations

from typing import Any

from ckptgit import sidecar, stages
from ckptgit.errors import IntegrityError
from ckptgit.model import Checkpoint
from ckptgit.repo import Repo


def full(repo: Repo, ref: str) -> dict[str, Any]:
    """The whole sidecar as committed, plus the commit that saved it."""
    ckpt = repo.resolve(ref)
    raw = repo.git.show_file(ckpt.commit, ckpt.sidecar_path)
    if raw is None:
        raise IntegrityError(f"commit {ckpt.commit[:12]} has no {ckpt.sidecar_path}")
    doc = sidecar.load(raw, f"{ckpt.commit[:12]}:{ckpt.sidecar_path}")
    doc["commit"] = ckpt.commit
    doc["stages"] = stages_of(repo, ckpt)
    from ckptgit.ops.prune import pruned

    mark = pruned(repo).get(ckpt.id)
    if mark is not None:
        doc["pruned"] = {"when": mark.when, "rule": mark.rule, "record": mark.record}
    return doc


def stage_map(repo: Repo) -> dict[str, list[str]]:
    """commit -> stages it currently holds (for the ``stages`` column)."""
    held: dict[str, list[str]] = {}
    for (name, stage), assignment in stages.holders(repo.git).items():
        held.setdefault(f"{name}@{assignment.commit}", []).append(stage)
    return held


def stages_of(repo: Repo, ckpt: Checkpoint) -> list[str]:
    return sorted(stage_map(repo).get(f"{ckpt.name}@{ckpt.commit}", []))
