"""A checkpoint's bytes (the artifact and its companions) rehydrated and sealed, for gates,
sandboxes and reverts."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from ckptgit import hashing, paths, sidecar, storage
from ckptgit.errors import IntegrityError, UsageError
from ckptgit.model import Checkpoint, Sidecar
from ckptgit.repo import Repo


@dataclass(frozen=True)
class Piece:
    """One DVC-tracked path of a checkpoint and its recorded seal."""

    path: str
    sha256: str

    @property
    def dvcfile(self) -> str:
        return self.path + ".dvc"


def read_sidecar(repo: Repo, ckpt: Checkpoint) -> Sidecar:
    raw = repo.git.show_file(ckpt.commit, ckpt.sidecar_path)
    if raw is None:
        raise IntegrityError(f"commit {ckpt.commit[:12]} lacks {ckpt.sidecar_path}")
    return sidecar.read(raw, f"{ckpt.commit[:12]}:{ckpt.sidecar_path}")


def pieces(ckpt: Checkpoint, doc: Sidecar) -> list[Piece]:
    """The artifact first, then its companions, as sealed at save."""
    out = [Piece(ckpt.path, ckpt.sha256)]
    for comp in doc.companions or ():
        path = str(comp.path)
        paths.recorded(path, f"companion of {ckpt.name} {ckpt.short_id}")
        out.append(Piece(path, str(comp.sha256)))
    return out


def materialize(repo: Repo, ckpt: Checkpoint, parts: list[Piece], dest_root: Path) -> dict[str,
                                                                                          Path]:
    """Each piece written under ``dest_root`` at its own relative path, seal checked.

    Objects missing from the cache are fetched from the DVC remote as of the checkpoint's
    commit; missing there too, or not matching the seal, is an error before anything is used.
    """
    root, git = repo.root, repo.git
    written = {}
    for piece in parts:
        raw = git.show_file(ckpt.commit, piece.dvcfile)
        if raw is None:
            raise IntegrityError(f"commit {ckpt.commit[:12]} lacks {piece.dvcfile}")
        pointer = storage.parse_pointer(raw)
        storage.ensure_cached(root, pointer, piece.dvcfile, ckpt.commit,
                              f"{piece.path} ({ckpt.name} {ckpt.short_id})")
        dest = paths.confined(dest_root, piece.path, "companion path")
        storage.materialize(root, pointer, dest, piece.sha256)
        written[piece.path] = dest
    return written


def refuse_unsaved(repo: Repo, parts: list[Piece], known_seals: set[str]) -> None:
    """Never overwrite work-tree bytes no checkpoint holds: a revert would lose them."""
    for piece in parts:
        dest = paths.in_repo(repo.root, piece.path)
        if not dest.is_file():
            continue
        current = hashing.stream(dest, md5=False).sha256
        if current not in known_seals:
            raise UsageError(f"{piece.path} holds bytes that no checkpoint has saved; save them "
                             "first ('git ckpt save') or pass --force to overwrite")


def install(repo: Repo, staged: dict[str, Path]) -> None:
    """Move verified bytes into the work tree; each path is replaced by one rename."""
    for rel, src in staged.items():
        dest = paths.in_repo(repo.root, rel)
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.is_dir() and not dest.is_symlink():
            old = dest.with_name(f".{dest.name}.old-{os.getpid()}")
            os.replace(dest, old)
            shutil.move(str(src), str(dest))
            shutil.rmtree(old, ignore_errors=True)
        else:
            shutil.move(str(src), str(dest))


def known_seals(repo: Repo) -> set[str]:
    return {c.sha256 for c in repo.checkpoints()}
