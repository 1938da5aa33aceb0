"""``git ckpt fsck``: what an interrupted save, push or restore left behind, and the safe fixes.

A save writes bytes into the cache (a temp file renamed into place), then a commit, then moves
the branch, then the user's index and work tree. Killed between any two of those steps it
leaves one of: a temp file, a cache object no commit names, a commit whose files were never
staged or written out, or a stale lock. None of these loses committed work; each is reported,
and ``repair`` fixes the ones whose fix cannot lose data either.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ckptgit import hashing, index, sidecar, storage
from ckptgit.atomic import write_atomic
from ckptgit.errors import CkptError
from ckptgit.git import last_commit_touching
from ckptgit.model import Checkpoint
from ckptgit.repo import Repo

# A cache object no commit names may belong to a save still between its rename and its commit;
# only older ones are removed. Temp files and locks held open by a live process are never.
ORPHAN_GRACE_S = 600


@dataclass
class Problem:
    kind: str  # tmp | orphan | lost | unpushed | lock | index | worktree
    message: str
    fix: str | None = None  # what --repair does, or None when it must be fixed by hand
    fixed: bool = False
    paths: list[Path] = field(default_factory=list)
    ckpt: Checkpoint | None = None

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "message": self.message, "repair": self.fix,
                "fixed": self.fixed}


def fsck(repo: Repo, *, repair: bool = False, remote: bool = True) -> list[Problem]:
    held = _open_files()
    problems = [*_temp_files(repo, held), *_stale_locks(repo, held)]
    problems += _index_state(repo)
    entries = repo.checkpoints()
    problems += _worktree_after_save(repo)
    problems += _staged_reverts(repo, problems)
    problems += _orphans(repo, remote)
    problems += _bytes(repo, entries, remote)
    if repair:
        for p in problems:
            if p.fix is not None:
                _repair(repo, p)
    return problems


# -- leftovers ------------------------------------------------------------------------------
def _open_files() -> set[str]:
    """Every path some live process holds open (Linux /proc; empty elsewhere)."""
    held: set[str] = set()
    proc = Path("/proc")
    if not proc.is_dir():
        return held
    for fd_dir in proc.glob("[0-9]*/fd"):
        try:
            for fd in os.scandir(fd_dir):
                try:
                    held.add(os.readlink(fd.path))
                except OSError:
                    continue
        except OSError:
            continue
    return held


def _temp_files(repo: Repo, held: set[str]) -> list[Problem]:
    cache = storage.cache_root(repo.root)
    ckpt_dir = repo.git.ckpt_dir
    candidates: list[Path] = []
    if (cache / "tmp").is_dir():
        candidates += [p for p in (cache / "tmp").iterdir() if p.name.startswith("ckpt-")]
    if cache.is_dir():
        candidates += list(cache.glob("??/*.tmp"))
    if ckpt_dir.is_dir():
        candidates += [p for p in ckpt_dir.iterdir()
                       if p.name.startswith("index.") or p.name.endswith(".tmp")]
    if (ckpt_dir / "tmp").is_dir():  # a restore's staging folder (see ops/restore.py)
        candidates += [p for p in (ckpt_dir / "tmp").iterdir() if p.name.startswith(".")]
    candidates += _worktree_temps(repo)
    out = []
    for path in candidates:
        if str(path) in held or str(path.resolve()) in held:
            continue  # a running save or restore is writing it
        size = path.stat().st_size if path.is_file() else 0
        out.append(Problem("tmp", f"leftover temporary file {_rel(repo, path)} ({size} bytes) "
                                  "from an interrupted save or restore",
                           "delete it", paths=[path]))
    return out


def _worktree_temps(repo: Repo) -> list[Path]:
    """``.NAME.PID.tmp`` files a killed save left beside the record files it was writing."""
    dirs = {(repo.root / c.path).parent for c in repo.checkpoints()} | {repo.root}
    found = []
    for d in dirs:
        if d.is_dir():
            found += [p for p in d.glob(".*.tmp") if p.is_file() and
                      p.name.count(".") >= 3 and p.name.rsplit(".", 2)[-2].isdigit()]
    return found


def _stale_locks(repo: Repo, held: set[str]) -> list[Problem]:
    git_dir, common = repo.git.git_dir, repo.git.common_dir
    locks = [git_dir / "index.lock", git_dir / "HEAD.lock", *common.glob("refs/heads/**/*.lock"),
             *common.glob("refs/tags/**/*.lock"), common / "packed-refs.lock"]
    out = []
    for lock in locks:
        if not lock.exists() or str(lock) in held:
            continue
        out.append(Problem("lock", f"stale git lock {_rel(repo, lock)} (no process holds it): "
                                   "git commands on this repository fail until it is gone",
                           "delete it", paths=[lock]))
    return out


def _index_state(repo: Repo) -> list[Problem]:
    """The checkpoint index is a cache; one that disagrees with a fresh scan is rebuilt."""
    head = repo.git.head()
    cached = index._read(repo.git)  # noqa: SLF001 - fsck audits the cache file itself
    if head is None or cached is None:
        return []
    found, forged = index._scan(repo.git, [head])  # noqa: SLF001
    fresh, more = index._genuine(repo.git, found)  # noqa: SLF001
    if cached[0] == head and list(cached[1]) == fresh and len(cached[2]) == len(forged + more):
        return []
    if cached[0] != head and repo.git.is_ancestor(cached[0], head):
        return []  # behind HEAD on the same line: caught up on next use, not a problem
    return [Problem("index", "the checkpoint index under .git/ckpt/ does not match the history "
                             "(an interrupted save or a rewritten branch)", "rebuild it")]


# -- a save interrupted after its commit -----------------------------------------------------
def _worktree_after_save(repo: Repo) -> list[Problem]:
    """HEAD is a save whose files never reached the user's index or work tree."""
    git = repo.git
    head = git.head()
    if head is None or not git.out(["log", "-1", "--format=%(trailers:key=Ckpt-Id,valueonly)",
                                    head]).strip():
        return []
    changed = [p for p in git.out(["diff-tree", "--no-commit-id", "--name-only", "-r", "-z",
                                   "--root", head]).split("\0") if p]
    head_blobs = git.tree_blobs(head, changed)
    parent = git.rev_parse(f"{head}^")
    old_blobs = git.tree_blobs(parent, changed) if parent else {}
    staged = git.index_blobs(changed)
    out = []
    for path in changed:
        new, old, idx = head_blobs.get(path), old_blobs.get(path), staged.get(path)
        if new is None or idx not in (old, None, new):
            continue  # the user staged their own version since: theirs to resolve
        if idx == new and not _stale_in_worktree(repo, path, old):
            continue
        if idx == new and path.endswith(".dvc") and _restored(repo, path, head):
            continue  # 'restore' of an older checkpoint points the work tree at its bytes
        out.append(Problem("worktree", f"{path} of the latest save (commit {head[:12]}) was "
                                       "never staged or written out: the save was interrupted "
                                       "after its commit", "stage and write it from HEAD",
                           paths=[repo.root / path]))
    return out


def _restored(repo: Repo, pointer: str, head: str) -> bool:
    """A save writes the pointer before the sidecar, so an old pointer beside the new sidecar
    is never a save's leftover: it is a deliberate ``restore`` of an older checkpoint."""
    rel = sidecar.path_for(pointer.removesuffix(".dvc"))
    side = repo.root / rel
    return side.is_file() and side.read_bytes() == repo.git.show_file(head, rel)


def _staged_reverts(repo: Repo, found: list[Problem]) -> list[Problem]:
    """Any older save's records left unstaged by an interrupted save (not only HEAD's)."""
    from ckptgit.governance import stale

    seen = {p for q in found for p in q.paths}
    return [Problem("worktree", f"{r.path}: the index does not hold the record the latest save "
                                "wrote; a plain commit would revert it",
                    "stage and write it from HEAD", paths=[repo.root / r.path])
            for r in stale.reverts(repo.git, stale.staged_changes(repo.git))
            if repo.root / r.path not in seen]


def _stale_in_worktree(repo: Repo, path: str, old_blob: str | None) -> bool:
    """The work-tree file is missing or still the version before the save."""
    dest = repo.root / path
    if not dest.exists():
        return True
    if old_blob is None:
        return False
    return dest.read_bytes() == repo.git.cat_files([old_blob]).get(old_blob)


# -- bytes ----------------------------------------------------------------------------------
def _orphans(repo: Repo, remote: bool) -> list[Problem]:
    """Cache objects nothing names: what ``git ckpt gc`` removes, found by its own plan."""
    from ckptgit.ops import gc

    found = gc.plan(repo, grace_s=ORPHAN_GRACE_S, remote=remote)
    if found.partial_history:
        return []  # commits this clone lacks may name any of them: no orphan can be told
    out = []
    for item, recent in [(g, False) for g in found.collectable] + [(g, True) for g in found.recent]:
        fix = None if recent or found.refusal else "delete it"
        note = (" (recent: a save may still be committing it; left alone)" if recent else
                f" (kept: {found.refusal})" if found.refusal else "")
        out.append(Problem("orphan", f"cache object {item.oid} ({item.size} bytes) is named "
                                     f"by no commit: a save interrupted before its commit{note}",
                           fix, paths=[item.path]))
    return out


def _bytes(repo: Repo, entries: list[Checkpoint], remote: bool) -> list[Problem]:
    """Checkpoints whose bytes are not in the cache: on the remote, or lost."""
    out = []
    pointers = _pointers(repo, entries)
    absent = {c.id: storage.missing_objects(repo.root, p) for c, p in pointers}
    missing = [(c, p) for c, p in pointers if absent[c.id]]
    on_remote: set[str] = set()
    unpushed: list[Checkpoint] = []
    if remote:
        try:
            oids = sorted({o for c, p in pointers for o in storage.object_ids(repo.root, p)})
            lacking = set(storage.missing_on_remote(repo.root, oids))
        except CkptError:
            lacking = set()
        on_remote = {c.id for c, p in missing if not (set(absent[c.id]) & lacking)}
        unpushed = [c for c, p in pointers if not absent[c.id]
                    and set(storage.object_ids(repo.root, p)) & lacking]
    for c, _ in missing:
        if c.id in on_remote:
            continue
        work = repo.root / c.path
        fix = "copy the work-tree file back into the cache" if _holds(work, c) else None
        out.append(Problem("lost", f"bytes of {c.name} {c.short_id} (commit {c.commit[:12]}) "
                                   f"are in neither the cache nor the DVC remote", fix,
                           paths=[work]))
    for c in unpushed:
        out.append(Problem("unpushed", f"{c.name} {c.short_id} is not on the DVC remote (an "
                                       "interrupted or skipped push)", "push it", ckpt=c))
    return out


def _pointers(repo: Repo, entries: list[Checkpoint]) -> list[tuple[Checkpoint, storage.Pointer]]:
    blobs = repo.git.cat_files([f"{c.commit}:{c.dvcfile}" for c in entries])
    out = []
    for c in entries:
        raw = blobs.get(f"{c.commit}:{c.dvcfile}")
        if raw is not None:
            try:
                out.append((c, storage.parse_pointer(raw)))
            except CkptError:
                continue
    return out


def _holds(path: Path, c: Checkpoint) -> bool:
    if not path.is_file():
        return False
    return hashing.stream(path, md5=False).sha256 == c.sha256


# -- repairs ----------------------------------------------------------------------------------
def _repair(repo: Repo, p: Problem) -> None:
    try:
        if p.kind in ("tmp", "lock", "orphan"):
            for path in p.paths:
                _remove(path)
        elif p.kind == "index":
            index._file(repo.git).unlink(missing_ok=True)  # noqa: SLF001
            index.load(repo.git)
        elif p.kind == "worktree":
            _restore_record(repo, p.paths)
        elif p.kind == "lost":
            storage.store(repo.root, p.paths[0])
        elif p.kind == "unpushed" and p.ckpt is not None:
            pointer = storage.Pointer(p.ckpt.md5, p.ckpt.size, p.ckpt.path)
            storage.push_objects(repo.root, storage.object_ids(repo.root, pointer))
        else:
            return
    except (OSError, CkptError) as exc:
        p.message += f" (repair failed: {exc})"
        return
    p.fixed = True


def _remove(path: Path) -> None:
    if path.is_dir():
        import shutil

        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _restore_record(repo: Repo, paths: Iterable[Path]) -> None:
    """Stage HEAD's version, and write it where the work tree lacks it or has the old one."""
    git = repo.git
    rels = [p.relative_to(repo.root).as_posix() for p in paths]
    head_blobs = git.tree_blobs("HEAD", rels)
    git.stage_blobs(head_blobs)
    for rel in rels:
        dest = repo.root / rel
        last = last_commit_touching(git, "HEAD", rel)  # the save that wrote HEAD's version
        parent = git.rev_parse(f"{last}^") if last else None
        old = git.show_file(parent, rel) if parent else None
        if dest.exists() and dest.read_bytes() != old:
            continue  # the user's own edit: keep it
        data = git.show_file("HEAD", rel) or b""
        write_atomic(dest, data)


def _rel(repo: Repo, path: Path) -> str:
    try:
        return path.relative_to(repo.root).as_posix()
    except ValueError:
        return str(path)
