"""``git ckpt show``: the full sidecar of one checkpoint and the stages it holds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ckptgit import sidecar
from ckptgit.errors import IntegrityError
from ckptgit.governance import tagevents
from ckptgit.model import Checkpoint, Sidecar
from ckptgit.repo import Repo

if TYPE_CHECKING:
    from ckptgit.ops.prune import PrunedMark


@dataclass(frozen=True)
class Shown:
    """One checkpoint's sidecar as committed, the commit that saved it, what it holds now."""

    sidecar: Sidecar
    commit: str
    stages: list[str]
    pruned: PrunedMark | None = None

    def to_doc(self) -> dict[str, Any]:
        """The sidecar's document plus ``commit``, ``stages`` and (when pruned) ``pruned``."""
        doc = self.sidecar.to_doc()
        doc["commit"] = self.commit
        doc["stages"] = list(self.stages)
        if self.pruned is not None:
            doc["pruned"] = {"when": self.pruned.when, "rule": self.pruned.rule,
                             "record": self.pruned.record}
        return doc


def full(repo: Repo, ref: str) -> Shown:
    """The whole sidecar as committed, plus the commit that saved it."""
    ckpt = repo.resolve(ref)
    raw = repo.git.show_file(ckpt.commit, ckpt.sidecar_path)
    if raw is None:
        raise IntegrityError(f"commit {ckpt.commit[:12]} has no {ckpt.sidecar_path}")
    value = sidecar.read(raw, f"{ckpt.commit[:12]}:{ckpt.sidecar_path}")
    from ckptgit.ops.prune import pruned

    return Shown(value, ckpt.commit, stages_of(repo, ckpt), pruned(repo).get(ckpt.id))


def stage_map(repo: Repo) -> dict[str, list[str]]:
    """commit -> stages it currently holds (for the ``stages`` column)."""
    held: dict[str, list[str]] = {}
    for (name, stage), assignment in tagevents.stage_holders(repo.git).items():
        held.setdefault(f"{name}@{assignment.commit}", []).append(stage)
    return held


def stages_of(repo: Repo, ckpt: Checkpoint) -> list[str]:
    """The stages ``ckpt`` holds, from the tags of its name alone (not every tag's body)."""
    holders = tagevents.stage_holders(repo.git, ckpt.name)
    return sorted(stage for (name, stage), held in holders.items()
                  if name == ckpt.name and held.commit == ckpt.commit)
