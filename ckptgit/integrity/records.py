"""Was a saved sidecar or pointer changed after its save? Answered from git history alone.

A save commit adds a sidecar with a NEW id and the trailer ``Ckpt-Id`` naming it. Any other
commit that touches a checkpoint's ``.dvc`` or ``.ckpt.yaml`` rewrote a record that was already
sealed: metrics made better, a pointer swapped to other bytes. A migration commit (``git ckpt
migrate``) is the one exception, and only when its new text is exactly what the migration of
the old text gives.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ckptgit import sidecar
from ckptgit.errors import CkptError
from ckptgit.git import Git, separators
from ckptgit.model import Checkpoint

MIGRATE_TRAILER = "Ckpt-Migrated"


@dataclass(frozen=True)
class Edit:
    """A commit that changed a checkpoint's record without being its save."""

    commit: str
    path: str  # the sidecar or pointer that changed
    ckpt: Checkpoint | None  # the checkpoint whose record it was, when known
    changes: tuple[str, ...]  # "field: old -> new", at most a few


def record_files(entries: Iterable[Checkpoint]) -> dict[str, str]:
    """Every checkpoint record file -> its artifact path."""
    out: dict[str, str] = {}
    for c in entries:
        out[c.dvcfile] = c.path
        out[c.sidecar_path] = c.path
    return out


def edits(git: Git, entries: list[Checkpoint], rev: str = "HEAD") -> list[Edit]:
    """Commits reachable from ``rev`` that rewrote a saved record (oldest first)."""
    files = record_files(entries)
    if not files:
        return []
    saves = {c.commit: c for c in entries}
    first_save_of: dict[str, str] = {}
    for c in sorted(entries, key=lambda c: c.created_at):
        first_save_of.setdefault(c.id, c.commit)
    suspects: list[tuple[str, str, bool]] = []
    saved: set[str] = set()  # record paths a save has written, in history order
    for commit, migrated, touched in _log(git, rev, sorted(files)):
        own = saves.get(commit)
        for path in touched:
            if own is not None and files[path] == own.path and first_save_of[own.id] == commit:
                saved.add(path)
                continue  # the save itself
            if path not in saved:
                continue  # before its first save (a 'dvc add' before adoption): no record yet
            suspects.append((commit, path, migrated))
    return _describe(git, suspects, {c.id: c for c in entries})


def _log(git: Git, rev: str, paths: list[str]) -> list[tuple[str, bool, list[str]]]:
    field, record = separators()
    fmt = f"{record}%H{field}%(trailers:key={MIGRATE_TRAILER},valueonly){field}"
    text = git.out(["log", "--no-merges", "--reverse", f"--format={fmt}", "--name-only", "-z",
                    "--no-renames", rev, "--", *paths])
    wanted = set(paths)
    rows = []
    for rec in text.split(record)[1:]:
        commit, migrated, names = rec.split(field, 2)
        touched = [n.strip("\n") for n in names.split("\0") if n.strip("\n") in wanted]
        rows.append((commit, bool(migrated.strip()), touched))
    return rows


def _describe(git: Git, suspects: list[tuple[str, str, bool]],
              by_id: dict[str, Checkpoint]) -> list[Edit]:
    specs = [f"{c}{suffix}:{p}" for c, p, _ in suspects for suffix in ("^", "")]
    blobs = git.cat_files(specs)
    found = []
    for commit, path, migrated in suspects:
        old_raw, new_raw = blobs.get(f"{commit}^:{path}"), blobs.get(f"{commit}:{path}")
        old, new = _doc(old_raw), _doc(new_raw)
        if migrated and path.endswith(sidecar.SUFFIX) and _is_migration(old_raw, new):
            continue
        if annotation_only(old, new):
            continue
        ckpt = by_id.get(str(old.get("id"))) if old else None
        found.append(Edit(commit, path, ckpt, tuple(changes(old or {}, new or {}))))
    return found


ANNOTATIONS = frozenset({"labels", "notes"})


def annotation_only(old: dict[str, Any] | None, new: dict[str, Any] | None) -> bool:
    """Labels and notes may change after a save (the pre-commit hook allows it); nothing else."""
    if not old or not new:
        return False
    keys = set(old) | set(new)
    return all(old.get(k) == new.get(k) for k in keys - ANNOTATIONS)


def _doc(raw: bytes | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        data = sidecar.parse_yaml(raw, "record")
    except CkptError:
        return {"<unparseable>": True}
    return data if isinstance(data, dict) else {"<not a mapping>": True}


def normalized(raw: bytes | None) -> dict[str, Any]:
    """A record on the current schema, so copies on different versions compare by meaning."""
    if raw is None:
        return {}
    try:
        return sidecar.load(raw)
    except CkptError:
        return _doc(raw) or {}


def _is_migration(old_raw: bytes | None, new: dict[str, Any] | None) -> bool:
    if old_raw is None or new is None:
        return False
    try:
        return sidecar.load(old_raw) == new
    except CkptError:
        return False


def changes(old: dict[str, Any], new: dict[str, Any], limit: int = 4) -> list[str]:
    """The leaf fields that differ, as ``a.b: old -> new`` (a few, for one line)."""
    out: list[str] = []
    _walk(old, new, "", out)
    if len(out) > limit:
        return [*out[:limit], f"(+{len(out) - limit} more)"]
    return out


def _walk(old: Any, new: Any, prefix: str, out: list[str]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in list(old) + [k for k in new if k not in old]:
            _walk(old.get(key, _MISSING), new.get(key, _MISSING), f"{prefix}{key}.", out)
        return
    if old != new:
        out.append(f"{prefix.rstrip('.')}: {_short(old)} -> {_short(new)}")


class _Missing:
    def __repr__(self) -> str:
        return "(absent)"


_MISSING = _Missing()


def _short(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else value
    return text if len(text) <= 24 else text[:21] + "..."
