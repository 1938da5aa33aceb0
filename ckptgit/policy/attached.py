"""What a checkpoint carries besides its artifact, for ``prune``: its companions (``save
--with``: tokenizer, config files) and the data it recorded (``--data``, ``--eval-data``).

A pruned checkpoint's attached bytes go with it, unless something still needs them: a kept
checkpoint (stage-tagged ones included), or a DVC pointer in the index or the work tree (the
project's live data, a pointer staged for the next commit). Sidecars are read only when they
name attachments (a byte scan first), and what each names is kept by ``COMMIT:PATH`` in
``.git/ckpt/attached-v1.json`` (a commit's tree never changes): reading 10,000 sidecars took
2.4 s, and
``prune --dry-run`` at 10,000 checkpoints has 2 s. Local state, safe to delete; a damaged file
is ignored and written again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import Any

from ckptgit import sidecar, storage
from ckptgit.errors import CkptError
from ckptgit.git import Git
from ckptgit.model import Checkpoint

KINDS = {"companions": "companion", "data": "data input", "eval_data": "evaluation data"}
_MARKS = tuple(f"\n{key}:".encode() for key in KINDS)
CACHE = "attached-v1.json"


@dataclass(frozen=True)
class Attached:
    kind: str  # companion | data input | evaluation data
    path: str
    md5: str
    size: int | None

    def pointer(self) -> storage.Pointer:
        return storage.Pointer(self.md5, self.size, self.path)


@dataclass(frozen=True)
class Found:
    by_id: dict[str, tuple[Attached, ...]]
    unreadable: tuple[str, ...]  # ids whose sidecar did not load: their attachments unknown


def of(git: Git, ckpts: Sequence[Checkpoint]) -> Found:
    """The attachments of each checkpoint; the sidecars the cache does not know are read in
    one ``cat-file --batch``."""
    specs = {c.id: f"{c.commit}:{c.sidecar_path}" for c in ckpts}
    cache = _load(git)
    missing = sorted({s for s in specs.values() if s not in cache})
    blobs = git.cat_files(missing)
    bad = set()
    for spec in missing:
        found = _parse(blobs.get(spec), spec)
        if found is None:
            bad.add(spec)
        else:
            cache[spec] = found
    if len(bad) < len(missing):
        _save(git, cache)
    out = {cid: cache[s] for cid, s in specs.items() if s not in bad and cache.get(s)}
    return Found(out, tuple(cid for cid, s in specs.items() if s in bad))


def _parse(raw: bytes | None, spec: str) -> tuple[Attached, ...] | None:
    """What a sidecar names; None when it is missing or does not load (never cached: judged
    every run)."""
    if raw is None:
        return None
    if not any(mark in raw for mark in _MARKS):
        return ()
    try:
        return tuple(_entries(sidecar.load(raw, spec)))
    except CkptError:
        return None


def _load(git: Git) -> dict[str, tuple[Attached, ...]]:
    try:
        data = json.loads((git.ckpt_dir / CACHE).read_bytes())
        return {str(k): tuple(Attached(str(a[0]), str(a[1]), str(a[2]),
                                       a[3] if isinstance(a[3], int) else None) for a in v)
                for k, v in data.items()}
    except (OSError, ValueError, TypeError, IndexError, AttributeError):
        return {}  # missing or damaged: read the sidecars again


def _save(git: Git, cache: dict[str, tuple[Attached, ...]]) -> None:
    from ckptgit.atomic import write_atomic

    text = json.dumps({k: [list(astuple(a)) for a in v] for k, v in cache.items()},
                      separators=(",", ":"))
    try:
        write_atomic(git.ckpt_dir / CACHE, text)
    except OSError:
        pass  # a read-only .git: the next run reads the sidecars again


def _entries(doc: dict[str, Any]) -> Iterable[Attached]:
    for key, kind in KINDS.items():
        items = doc.get(key)
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict) and isinstance(item.get("md5"), str) and item["md5"]:
                size = item.get("size")
                yield Attached(kind, str(item.get("path", "")), item["md5"],
                               size if isinstance(size, int) else None)


def live_md5s(git: Git, root: Path) -> set[str]:
    """Hashes the project points at now: every ``.dvc`` file in the index and in the work
    tree. Their bytes are the checkout's, not history's, so prune never frees them."""
    paths = [p for p in git.out(["ls-files", "-z", "--cached", "--others", "--exclude-standard",
                                 "--", "*.dvc"]).split("\0") if p]
    found: set[str] = set()
    staged = git.cat_files([f":{p}" for p in paths] + [":dvc.lock"])
    for path in paths:
        for raw in (staged.get(f":{path}"), _read(root / path)):
            md5 = _md5(raw)
            if md5:
                found.add(md5)
    for raw in (staged.get(":dvc.lock"), _read(root / "dvc.lock")):
        found |= _lock_md5s(raw)
    return found


def _lock_md5s(raw: bytes | None) -> set[str]:
    """Outputs of a DVC pipeline (``dvc.lock``): data a ``--data`` input may name."""
    if not raw:
        return set()
    try:
        data = sidecar.parse_yaml(raw, "dvc.lock", max_bytes=64 << 20) or {}
    except CkptError:
        return set()
    stages = data.get("stages") if isinstance(data, dict) else None
    return {str(out["md5"]) for stage in (stages or {}).values() if isinstance(stage, dict)
            for out in stage.get("outs") or [] if isinstance(out, dict) and out.get("md5")}


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes() if path.is_file() and not path.is_symlink() else None
    except OSError:
        return None


def _md5(raw: bytes | None) -> str | None:
    if not raw:
        return None
    try:
        return storage.parse_pointer(raw).md5 or None
    except CkptError:
        return None  # not a pointer we can read: it names nothing we would free
