"""``git ckpt restore``: bytes of any checkpoint back into the work tree, sealed and checked."""

from __future__ import annotations

import os
from pathlib import Path

from ckptgit import faults, hashing, paths, replicas, sidecar, storage
from ckptgit.atomic import write_atomic
from ckptgit.errors import IntegrityError, MissingDataError, UsageError
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

    Bytes come from the cache, else from the DVC remote as of the checkpoint's commit,
    ``jobs`` transfers at a time (default: 4 per core); the seal recorded in the sidecar is
    checked before anything at the destination is replaced.
    """
    ckpt = repo.resolve(ref)
    git, root = repo.git, repo.root
    raw_pointer = git.show_file(ckpt.commit, ckpt.dvcfile)
    raw_sidecar = git.show_file(ckpt.commit, ckpt.sidecar_path)
    if raw_pointer is None or raw_sidecar is None:
        raise IntegrityError(f"commit {ckpt.commit[:12]} lacks {ckpt.dvcfile} or its sidecar")
    pointer = storage.parse_pointer(raw_pointer)
    seal = sidecar.read(raw_sidecar, ckpt.sidecar_path).artifact.sha256
    dest = _destination(root, ckpt, to)
    if not force and dest.exists():
        _refuse_unsaved(repo, dest, suggest_to=to is None)
    try:
        # the first replica that has them; each object's md5 verified before it enters the
        # cache, and the sha256 of a fresh download taken in the same pass
        fetched = replicas.ensure_cached(root, pointer, f"{ckpt.name} ({ckpt.short_id})",
                                         dvcfile=ckpt.dvcfile, rev=ckpt.commit, jobs=jobs)
    except MissingDataError as exc:
        raise _pruned_or(repo, ckpt, exc) from exc
    # the seal checked before anything at dest is replaced; a fresh download is not read again
    storage.materialize(root, pointer, dest, seal, progress, _staging(repo, dest), fetched)
    faults.point("restored")
    if to is None:
        _point_at(root, ckpt, raw_pointer)
    return ckpt, dest


def _staging(repo: Repo, dest: Path) -> Path | None:
    """Under ``.git/ckpt/`` when that is on dest's filesystem: a restore killed mid-write then
    leaves nothing in the work tree for ``git status`` to show (fsck removes it)."""
    staging = repo.git.ckpt_dir / "tmp"
    try:
        staging.mkdir(parents=True, exist_ok=True)
        same = os.stat(staging).st_dev == os.stat(dest.parent).st_dev
    except OSError:
        return None
    return staging if same else None


def _point_at(root: Path, ckpt: Checkpoint, raw_pointer: bytes) -> None:
    """The work tree's ``.dvc`` pointer describes the bytes now beside it, so ``dvc status``
    is clean. Only the work tree changes (git shows the pointer modified while an older
    checkpoint is out); the pre-commit hook refuses committing it, which would revert a save."""
    pointer_file = root / ckpt.dvcfile
    if not pointer_file.exists() or pointer_file.read_bytes() != raw_pointer:
        write_atomic(pointer_file, raw_pointer)


def _pruned_or(repo: Repo, ckpt: Checkpoint, exc: MissingDataError) -> MissingDataError:
    """Missing bytes of a pruned checkpoint are explained: when, by which rule."""
    from ckptgit.ops.prune import pruned

    mark = pruned(repo).get(ckpt.id)
    if mark is None:
        return exc
    return MissingDataError(f"{ckpt.name} ({ckpt.short_id}) was pruned on {mark.when} by "
                            f"retention rule {mark.rule} (record {mark.record[:12]} on "
                            "refs/ckpt/retention); its sidecar and history remain, its bytes "
                            "are gone")


def _destination(root: Path, ckpt: Checkpoint, to: str | Path | None) -> Path:
    if to is None:
        return paths.in_repo(root, ckpt.path)
    target = Path(to)
    if target.exists() and not target.is_dir():
        raise UsageError(f"--to {to} is a file; give a directory to restore into")
    if target.is_dir() and not os.access(target, os.W_OK | os.X_OK):
        raise UsageError(f"--to {to} is not a directory this user can write into")
    if target.resolve().parts[1:2] in (("proc",), ("sys",), ("dev",)):
        raise UsageError(f"--to {to} is inside a kernel filesystem; give an ordinary directory")
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
