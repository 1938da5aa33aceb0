"""``git ckpt adopt PATH -n NAME``: a model that ``dvc add`` tracks, made a first checkpoint.

The bytes must be in the work tree and be the ones its ``.dvc`` file names (``dvc checkout``
first otherwise); the save then seals them, writes the sidecar beside the pointer and declares
the artifact, in one atomic commit like any save.
"""

from __future__ import annotations

from pathlib import Path

from ckptgit import paths, sidecar, storage
from ckptgit.errors import UsageError
from ckptgit.model import Checkpoint
from ckptgit.ops.save import SaveRequest, save
from ckptgit.repo import Repo


def adopt(repo: Repo, path: str, name: str, note: str | None = None,
          cwd: Path | None = None) -> Checkpoint:
    rel = paths.artifact_path(repo.root, path, cwd)
    pointer_file = repo.root / f"{rel}.dvc"
    if not pointer_file.is_file():
        raise UsageError(f"{rel} is not tracked by DVC (no {rel}.dvc): save it with "
                         f"'git ckpt save {rel} -n {name}' instead")
    if (repo.root / sidecar.path_for(rel)).exists():
        raise UsageError(f"{rel} already has a sidecar: it is a checkpoint")
    pointer = storage.parse_pointer(pointer_file.read_bytes())
    if not (repo.root / rel).exists():
        raise UsageError(f"{rel} is not in the work tree: run 'dvc checkout {rel}.dvc' first")
    req = SaveRequest(path=rel, name=name, cwd=repo.root, labels=("adopted",),
                      note=note or f"adopted from {rel}.dvc (md5 {pointer.md5})")
    return save(repo, req)
