"""Data inputs: DVC-tracked paths a checkpoint was trained on, with the hashes DVC records."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ckptgit import sidecar, storage
from ckptgit.errors import UsageError


def capture(root: Path, given: Iterable[str], cwd: Path | None = None) -> list[dict[str, Any]]:
    found = []
    for item in given:
        rel = _data_path(root, item, cwd)
        entry = _from_pointer(root, rel) or _from_lock(root, rel)
        if entry is None:
            raise UsageError(
                f"--data {item}: not tracked by DVC; run 'dvc add {rel}' (or make it a stage "
                "output) so its hash can be recorded"
            )
        found.append(entry)
    return found


def _data_path(root: Path, item: str, cwd: Path | None) -> str:
    p = Path(item)
    if p.name.endswith(".dvc"):
        p = p.with_name(p.name[:-4])
    base = cwd or Path.cwd()
    absolute = (p if p.is_absolute() else base / p).resolve()
    if root.resolve() not in absolute.parents:
        raise UsageError(f"--data {item} is outside the repository")
    return absolute.relative_to(root.resolve()).as_posix()


def _from_pointer(root: Path, rel: str) -> dict[str, Any] | None:
    dvcfile = root / f"{rel}.dvc"
    if not dvcfile.is_file():
        return None
    ptr = storage.parse_pointer(dvcfile.read_bytes())
    entry: dict[str, Any] = {"path": rel, "md5": ptr.md5, "size": ptr.size,
                             "nfiles": ptr.nfiles}
    if ptr.labels:  # DVC's labels of the input (e.g. pii), for guardrails (docs/policy.md)
        entry["labels"] = list(ptr.labels)
    return entry


def _from_lock(root: Path, rel: str) -> dict[str, Any] | None:
    lock = root / "dvc.lock"
    if not lock.is_file():
        return None
    data = sidecar.parse_yaml(lock.read_bytes(), "dvc.lock") or {}
    for stage in (data.get("stages") or {}).values():
        for out in stage.get("outs") or []:
            if out.get("path") == rel and out.get("md5"):
                return {"path": rel, "md5": str(out["md5"]), "size": out.get("size"),
                        "nfiles": out.get("nfiles")}
    return None
