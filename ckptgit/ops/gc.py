"""Cache garbage: DVC objects that nothing in the repository's history, index or work trees names.

What is kept is what git itself keeps: every object named by a ``.dvc`` file or ``dvc.lock`` in
any commit reachable from any ref or reflog entry, in any worktree's index, or on disk in any
worktree (tracked or new), or by an entry of DVC's run cache, and every member of a directory
those name. Every saved checkpoint
is such a commit, so gc never takes a checkpoint's bytes. What is left is garbage: the bytes of
a save killed before its commit, of a ``dvc add`` never committed, of a branch deleted and
expired from the reflog.

Four guards keep gc from removing what may still be wanted:

- objects younger than the grace period: a save may be between storing and committing them;
- a cache outside the repository: other projects may share it, and gc cannot see their history;
- a shallow or partial clone: records beyond what was fetched may name objects;
- a directory listing that cannot be read here or on the remote: its members are unknown.

The last three refuse the whole run rather than guess. Retention (which saved checkpoints may
give up their bytes) is a policy layered on this plan, not a change to it.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ckptgit import faults, storage, workfiles
from ckptgit.errors import CkptError, PolicyError
from ckptgit.repo import Repo

GRACE_S = 3600.0  # a save of a very large checkpoint stores for minutes before it commits

# Any md5-shaped token in a record keeps its object: a superset of what DVC's parser would
# find, so a record in an unexpected shape (or one that no longer parses) loses nothing.
_OID = re.compile(rb"(?<![0-9a-fA-F])([0-9a-fA-F]{32}(?:\.dir)?)(?![0-9a-fA-F])")
_OBJECT_NAME = re.compile(r"[0-9a-f]{30}(\.dir)?")
_RECORD_SPECS = ("*.dvc", "*dvc.lock")


def _is_record(path: str) -> bool:
    return path.endswith(".dvc") or path.rsplit("/", 1)[-1] == "dvc.lock"


@dataclass(frozen=True)
class Garbage:
    oid: str
    path: Path
    size: int
    age_s: float

    def to_dict(self) -> dict[str, Any]:
        return {"oid": self.oid, "path": str(self.path), "size": self.size,
                "age_s": round(self.age_s, 1)}


@dataclass
class Plan:
    cache: Path
    objects: int  # objects in the cache
    kept: int  # ... named by some record
    collectable: list[Garbage]  # named by nothing, older than the grace period
    recent: list[Garbage]  # named by nothing, but younger: left alone
    refusal: str | None = None  # why nothing may be removed at all
    partial_history: bool = False  # a shallow or partial clone: "named by nothing" is unknown
    removed: list[Garbage] = field(default_factory=list)

    @property
    def collectable_bytes(self) -> int:
        return sum(g.size for g in self.collectable)

    @property
    def removed_bytes(self) -> int:
        return sum(g.size for g in self.removed)

    def to_dict(self) -> dict[str, Any]:
        return {"cache": str(self.cache), "objects": self.objects, "kept": self.kept,
                "collectable": [g.to_dict() for g in self.collectable],
                "collectable_bytes": self.collectable_bytes,
                "recent": [g.to_dict() for g in self.recent], "refusal": self.refusal,
                "removed": [g.oid for g in self.removed],
                "removed_bytes": self.removed_bytes}


def plan(repo: Repo, *, grace_s: float = GRACE_S, remote: bool = True) -> Plan:
    """What gc would remove from the local cache, and what it keeps and why; changes nothing."""
    cache = storage.cache_root(repo.root)
    objects = _objects(cache)
    if not objects:
        return Plan(cache, 0, 0, [], [])
    partial = repo.git.partial_history()
    if partial is None:
        named, refusal = _named(repo, cache, remote)
    else:  # reading the records would fetch missing blobs from the network, and not suffice
        named, refusal = set(), f"{partial}: commits or records it lacks may name cache objects"
    if refusal is None and not _inside(cache, repo.root):
        refusal = (f"the DVC cache {cache.parent.parent} is outside this repository and may be "
                   f"shared with other projects, whose history gc cannot see")
    now = time.time()
    collectable: list[Garbage] = []
    recent: list[Garbage] = []
    for oid, path in sorted(objects.items()):
        if oid in named:
            continue
        try:
            st = path.stat()
        except FileNotFoundError:
            continue  # removed meanwhile (another gc, a dvc gc)
        item = Garbage(oid, path, st.st_size, max(0.0, now - st.st_mtime))
        (collectable if item.age_s >= grace_s else recent).append(item)
    kept = len(objects) - len(collectable) - len(recent)
    return Plan(cache, len(objects), kept, collectable, recent, refusal, partial is not None)


def collect(repo: Repo, *, grace_s: float = GRACE_S, remote: bool = True,
            dry_run: bool = False) -> Plan:
    """Plan, then remove the collectable objects (under the commit lock, so no save commits
    between the plan and the removal). Refuses, removing nothing, when the plan does."""
    with workfiles.commit_lock(repo.git):
        found = plan(repo, grace_s=grace_s, remote=remote)
        if dry_run:
            return found
        if found.refusal and (found.collectable or found.recent):
            raise PolicyError(f"gc removed nothing: {found.refusal}")
        for item in found.collectable:
            try:
                os.chmod(item.path, 0o644)  # DVC makes its objects read-only
                item.path.unlink()
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise CkptError(f"gc stopped at {item.path}: {exc.strerror or exc} "
                                f"({len(found.removed)} objects removed before it)") from exc
            found.removed.append(item)
            faults.point("collected")
        return found


# -- the cache -------------------------------------------------------------------------------
def _objects(cache: Path) -> dict[str, Path]:
    """Object id -> file, for every object in DVC's md5 layout (temp files are not objects)."""
    if not cache.is_dir():
        return {}
    out = {}
    with os.scandir(cache) as top:
        for sub in top:
            if len(sub.name) != 2 or not sub.is_dir(follow_symlinks=False):
                continue
            with os.scandir(sub.path) as names:
                for entry in names:
                    if _OBJECT_NAME.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
                        out[sub.name + entry.name] = Path(entry.path)
    return out


def _inside(cache: Path, root: Path) -> bool:
    return cache.resolve().is_relative_to(root.resolve())


# -- what the repository names ---------------------------------------------------------------
def _named(repo: Repo, cache: Path, remote: bool) -> tuple[set[str], str | None]:
    texts = [t for t in repo.git.cat_files(repo.git.blobs_named(_is_record)).values()
             if t is not None]
    runs = cache.parent.parent / "runs"  # DVC's run cache: `dvc repro` restores outputs from it
    if runs.is_dir():
        texts += [p.read_bytes() for p in runs.rglob("*") if p.is_file()]
    for tree in repo.git.worktrees():
        for rel in repo.git.files_in_worktree(tree, _RECORD_SPECS):
            if _is_record(rel):
                try:
                    texts.append((tree / rel).read_bytes())
                except (FileNotFoundError, IsADirectoryError):
                    continue  # deleted in the work tree: its committed copy is read above
    named: set[str] = set()
    for text in texts:
        named.update(m.decode().lower() for m in _OID.findall(text))
    missing = []
    for oid in sorted(o for o in named if o.endswith(".dir")):
        try:
            named.update(m for _, m in storage.dir_entries(repo.root, oid))
        except FileNotFoundError:
            missing.append(oid)
        except (OSError, ValueError, KeyError, TypeError):
            return named, f"directory listing {oid} in the cache is unreadable (see git ckpt fsck)"
    if missing:
        unknown = _from_remote(repo, missing, named) if remote else missing
        if unknown:
            where = "the cache or the DVC remote" if remote else "the cache (--offline)"
            more = f" (+{len(unknown) - 1} more)" if len(unknown) > 1 else ""
            return named, (f"directory listing {unknown[0]}{more} is in neither {where}, so "
                           f"its members are unknown")
    return named, None


def _from_remote(repo: Repo, oids: list[str], named: set[str]) -> list[str]:
    """Read the listings the cache lacks from the remote; return those it lacks too."""
    unknown = []
    try:
        with storage.remote_store(repo.root) as store:
            for oid in oids:
                if store is None:
                    unknown.append(oid)
                    continue
                try:
                    named.update(m for _, m in store.dir_entries(oid))
                except (OSError, ValueError, KeyError, TypeError):
                    unknown.append(oid)
    except CkptError:
        return oids
    return unknown
