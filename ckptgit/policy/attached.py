"""What a checkpoint carries besides its artifact, for ``prune``: its companions (``save
--with``: tokenizer, config files) and the data it recorded (``--data``, ``--eval-data``).

A pruned checkpoint's attached bytes go with it, unless something still needs them: a kept
checkpoint (stage-tagged ones included), or a DVC pointer in the index or the work tree (the
project's live data, a pointer staged for the next commit). Sidecars are read only when they
name attachments (a byte scan first): most saves have none, and prune plans over 10,000.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ckptgit import sidecar, storage
from ckptgit.errors import CkptError
from ckptgit.git import Git
from ckptgit.model import Checkpoint

KINDS = {"companions": "companion", "data": "data input", "eval_data": "evaluation data"}
_MARKS = tuple(f"\n{key}:".encode() for key in KINDS)


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
    """The attachments of each checkpoint (one ``cat-file`` for all sidecars)."""
    specs = {c.id: f"{c.commit}:{c.sidecar_path}" for c in ckpts}
    blobs = git.cat_files(list(dict.fromkeys(specs.values())))
    out: dict[str, tuple[Attached, ...]] = {}
    unreadable = []
    for cid, spec in specs.items():
        raw = blobs.get(spec) or b""
        if not any(mark in raw for mark in _MARKS):
            continue
        try:
            doc = sidecar.load(raw, spec)
        except CkptError:
            unreadable.append(cid)
            continue
        out[cid] = tuple(_entries(doc))
    return Found(out, tuple(unreadable))


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
