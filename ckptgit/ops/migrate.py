"""``git ckpt migrate``: rewrite sidecars of older schema versions as ONE new commit.

History is never rewritten: the save commits keep their original sidecars (every reader
migrates those on load). What changes is the copy at the tip of the branch, so that the next
tools to read it, and the next save beside it, see the current schema. The commit carries one
``Ckpt-Migrated: <from>-><to>`` trailer per starting version, and each new sidecar is exactly
``sidecar.dump`` of the migration of the old one, which is what ``verify`` accepts as a
migration rather than a hand edit (``integrity/records.py``). It is built in a private index and
published by compare-and-swap under the save lock, like a save; the user's index and work tree
are then brought along for those sidecars only, their own pending edits migrated, not lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ckptgit import faults, sidecar, workfiles
from ckptgit.atomic import write_atomic
from ckptgit.errors import CkptError, ExternalError, IntegrityError, UsageError
from ckptgit.git import Git
from ckptgit.integrity.records import MIGRATE_TRAILER

# the lock and the atomic write of a save: a migration and a save must not interleave
from ckptgit.repo import Repo


@dataclass(frozen=True)
class Rewrite:
    """One sidecar at the tip that is (or was) on an older schema version."""

    path: str
    name: str
    id: str
    old: int
    new: int

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "name": self.name, "id": self.id,
                "from": self.old, "to": self.new}


@dataclass(frozen=True)
class Migration:
    rewrites: list[Rewrite]
    commit: str | None  # None for a dry run or when nothing needed migrating
    version: int  # the schema version everything is now (or would be) on

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "commit": self.commit,
                "migrated": [r.to_dict() for r in self.rewrites]}


def migrate(repo: Repo, names: Sequence[str] = (), dry_run: bool = False) -> Migration:
    git = repo.git
    if dry_run:
        return Migration([r for r, _ in _plan(git, git.head(), names)], None,
                         sidecar.CURRENT_VERSION)
    with workfiles.commit_lock(git):
        head = git.head()
        planned = _plan(git, head, names)
        if not planned or head is None:
            return Migration([], None, sidecar.CURRENT_VERSION)
        files = {r.path: text for r, text in planned}
        commit, blobs = git.commit_files(head, files, message([r for r, _ in planned]))
        faults.point("migrate-built")
        if not git.update_ref(git.head_ref(), commit, head, "ckpt: migrate sidecars"):
            raise ExternalError("the branch moved during the migration; nothing was recorded, "
                                "run 'git ckpt migrate' again")
        faults.point("migrated")
        _sync_user_view(repo, head, files, blobs)
    return Migration([r for r, _ in planned], commit, sidecar.CURRENT_VERSION)


def _plan(git: Git, head: str | None, names: Sequence[str]) -> list[tuple[Rewrite, bytes]]:
    """Each sidecar at ``head`` on an older version (of ``names``, if given), with its new text."""
    if head is None:
        if names:
            raise UsageError(f"no checkpoint named {names[0]!r}: nothing is committed yet")
        return []
    paths = git.files_in_commit(head, sidecar.SUFFIX)
    blobs = git.cat_files([f"{head}:{p}" for p in paths])
    seen: set[str] = set()
    out = []
    for path in paths:
        raw = blobs.get(f"{head}:{path}") or b""
        old = _read(raw, path)
        seen.add(str(old.get("name")))
        if names and old.get("name") not in names:
            continue
        version = old.get("schema_version", 0)
        new = sidecar.load(raw, path)  # refuses a version newer than this ckptgit knows
        if version == sidecar.CURRENT_VERSION:
            continue
        out.append((Rewrite(path, str(new.get("name")), str(new.get("id")), version,
                            sidecar.CURRENT_VERSION), _text(new, path)))
    unknown = [n for n in names if n not in seen]
    if unknown:
        raise UsageError(f"no checkpoint named {unknown[0]!r} at the tip of the branch; "
                         "see 'git ckpt list'")
    return out


def _read(raw: bytes, path: str) -> dict[str, Any]:
    data = sidecar.parse_yaml(raw, path)
    if not isinstance(data, dict):
        raise IntegrityError(f"{path} is not a mapping; run 'git ckpt verify' and fix it first")
    version = data.get("schema_version", 0)
    if not isinstance(version, int) or isinstance(version, bool):
        raise IntegrityError(f"{path}: schema_version {version!r} is not a number")
    return data


def _text(doc: dict[str, Any], path: str) -> bytes:
    """The migrated sidecar as YAML, refused unless it is valid and reads back as itself."""
    problems = sidecar.schema_errors(doc)
    if problems:
        raise IntegrityError(f"{path}: the migration to schema version "
                             f"{sidecar.CURRENT_VERSION} gives an invalid sidecar: {problems[0]}; "
                             "nothing was changed (the migration step needs fixing)")
    text = sidecar.dump(doc)
    if sidecar.parse_yaml(text, path) != doc:
        raise IntegrityError(f"{path}: the migrated sidecar does not survive a YAML round trip; "
                             "nothing was changed (the migration step needs fixing)")
    return text.encode()


def message(rewrites: Sequence[Rewrite]) -> str:
    """Subject, one line per sidecar, then one trailer per starting version."""
    target = sidecar.CURRENT_VERSION
    noun = "sidecar" if len(rewrites) == 1 else "sidecars"
    lines = [f"ckpt: migrate {len(rewrites)} {noun} to schema version {target}", ""]
    lines += [f"{r.path} ({r.name} {r.id[:8]}): version {r.old} to {r.new}" for r in rewrites]
    lines.append("")
    lines += [f"{MIGRATE_TRAILER}: {v}->{target}" for v in sorted({r.old for r in rewrites})]
    return "\n".join(lines) + "\n"


def _sync_user_view(repo: Repo, head: str, files: dict[str, bytes],
                    blobs: dict[str, str]) -> None:
    """Index and work tree follow the new commit for the migrated sidecars only.

    A copy identical to the old commit's is replaced; a copy the user changed (a staged or
    unstaged label edit) is migrated in place so the edit survives; anything else is theirs.
    """
    git, root = repo.git, repo.root
    old = git.cat_files([f"{head}:{p}" for p in files])
    staged: dict[str, str] = {}
    for path, new_text in files.items():
        before = old.get(f"{head}:{path}")
        index_text = git.show_file("", path)
        if index_text is None or index_text == before:
            staged[path] = blobs[path]
        elif (mine := _migrated(index_text, path)) is not None:
            staged[path] = git.write_blob(mine)
        work = root / path
        work_text = work.read_bytes() if work.is_file() else None
        if work_text is None or work_text == before:
            write_atomic(work, new_text)
            faults.point("migrate-written")
        elif (mine := _migrated(work_text, path)) is not None:
            write_atomic(work, mine)
    try:
        git.stage_blobs(staged)
    except CkptError as exc:
        raise ExternalError(f"sidecars migrated, but the index could not be updated ({exc}); "
                            f"run 'git reset -q -- {' '.join(staged)}'") from exc


def _migrated(text: bytes, path: str) -> bytes | None:
    """The user's own copy on the current version, or None when it is not ours to touch."""
    try:
        data = _read(text, path)
        if data.get("schema_version", 0) >= sidecar.CURRENT_VERSION:
            return None
        return sidecar.dump(sidecar.load(text, path)).encode()
    except (IntegrityError, UsageError):
        return None
