"""``git ckpt restore``: bytes of any checkpoint back into the work tree, sealed and checked."""

from __future__ import annotations

from pathlib import Path

from ckptgit import hashing, paths, replicas, sidecar, storage
from ckptgit.errors import IntegrityError, UsageError
from ckptgit.model import Checkpoint
from ckptgit.repo import Repo


def restore(
    repo: Repo,
    ref: str,
    to: str | Path | None = None,
    *,
    force: bool = False,
    progress: hashing.Progress | None = None,
    jobs: int | None = None,
) -> tuple[Checkpoint, Path]:
    """Write checkpoint ``ref`` to its artifact path (or into directory ``to``).

    Bytes come from the cache, else from the DVC remote as of the checkpoint's commit; the
    seal recorded in the sidecar is checked before anything at the destination is replaced.
    """
    ckpt = repo.resolve(ref)
    git, root = repo.git, repo.root
    raw_pointer = git.show_file(ckpt.commit, ckpt.dvcfile)
    raw_sidecar = git.show_file(ckpt.commit, ckpt.sidecar_path)
    if raw_pointer is None or raw_sidecar is None:
        raise IntegrityError(f"commit {ckpt.commit[:12]} lacks {ckpt.dvcfile} or its sidecar")
    pointer = storage.parse_pointer(raw_pointer)
    seal = sidecar.load(raw_sidecar, ckpt.sidecar_path)["artifact"]["sha256"]
    dest = _destination(root, ckpt, to)
    if not force and dest.exists():
        _refuse_unsaved(repo, dest, suggest_to=to is None)
    # the first replica that answers; the seal below catches one that serves wrong bytes
    replicas.ensure_cached(root, pointer, f"{ckpt.name} ({ckpt.short_id})",
                           jobs or replicas.default_jobs())
    storage.materialize(root, pointer, dest, seal, progress)
    return ckpt, dest


def _destination(root: Path, ckpt: Checkpoint, to: str | Path | None) -> Path:
    if to is None:
        return paths.in_repo(root, ckpt.path)
    target = Path(to)
    if target.exists() and not target.is_dir():
        raise UsageError(f"--to {to} is a file; give a directory to restore into")
    return target.resolve() / Path(ckpt.path).name


def _refuse_unsaved(repo: Repo, dest: Path, suggest_to: bool) -> None:
    """Never overwrite work-tree bytes that no checkpoint holds: they would be lost."""
    current = _seal_of(dest)
    if any(c.sha256 == current for c in repo.checkpoints()):
        return
    elsewhere = "restore elsewhere with --to DIR, " if suggest_to else ""
    raise UsageError(f"{dest} holds bytes that no checkpoint has saved; save them first, "
                     f"{elsewhere}or pass --force to overwrite")


def _seal_of(path: Path) -> str:
    """The seal ``save`` would record for what is at ``path`` now (a file or a directory)."""
    if not path.is_dir():
        return hashing.stream(path, md5=False).sha256
    files = sorted(p for p in path.rglob("*") if p.is_file())
    return hashing.directory_seal(
        (p.relative_to(path).as_posix(), hashing.stream(p, md5=False).sha256) for p in files
    )
