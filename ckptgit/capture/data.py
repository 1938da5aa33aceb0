"""Data inputs: DVC-tracked paths a checkpoint was trained on (``--data``) or evaluated on
(``--eval-data``), with the hashes DVC records."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ckptgit import sidecar, storage
from ckptgit.errors import UsageError


def capture(root: Path, given: Iterable[str], cwd: Path | None = None,
            flag: str = "--data") -> list[dict[str, Any]]:
    found = []
    for item in given:
        rel = _data_path(root, item, cwd, flag)
        entry = _from_pointer(root, rel) or _from_lock(root, rel)
        if entry is None:
            raise UsageError(
                f"{flag} {item}: not tracked by DVC; run 'dvc add {rel}' (or make it a stage "
                "output) so its hash can be recorded"
            )
        found.append(entry)
    return found


def capture_eval(root: Path, given: Iterable[str], cwd: Path | None = None
                 ) -> list[dict[str, Any]]:
    """``--eval-data [SECTION=]PATH``: the data metrics were computed on, for fair comparison
    (compare/evaldata.py). Without a section it covers every metric. A symlink is refused:
    the hash must be of the data the path names, not of wherever a link points today."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for item in given:
        section, path = _section(item, root, cwd)
        p = Path(path)
        if (p if p.is_absolute() else (cwd or Path.cwd()) / p).is_symlink():
            raise UsageError(f"--eval-data {item}: a symlink; name the DVC-tracked path itself")
        entry = capture(root, [path], cwd, "--eval-data")[0]
        entry["metrics"] = section
        found[(entry["path"], section)] = entry
    return list(found.values())


def _section(item: str, root: Path, cwd: Path | None) -> tuple[str, str]:
    """``val=data/val.csv`` names a metrics section; a path that exists as given wins (a file
    may have ``=`` in its name)."""
    head, sep, tail = item.partition("=")
    base = cwd or Path.cwd()
    if sep and head.strip() and "/" not in head and not (base / item).exists():
        if not tail.strip():
            raise UsageError(f"--eval-data {item}: give a path after {head}=")
        return head.strip(), tail
    if not item.strip():
        raise UsageError("--eval-data needs a path")
    return "*", item


def _data_path(root: Path, item: str, cwd: Path | None, flag: str = "--data") -> str:
    p = Path(item)
    if p.name.endswith(".dvc"):
        p = p.with_name(p.name[:-4])
    base = cwd or Path.cwd()
    absolute = (p if p.is_absolute() else base / p).resolve()
    if root.resolve() not in absolute.parents:
        raise UsageError(f"{flag} {item} is outside the repository")
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
    # DVC writes it (no aliases); a large pipeline's lock may exceed a sidecar's size
    data = sidecar.parse_yaml(lock.read_bytes(), "dvc.lock", max_bytes=64 << 20) or {}
    for stage in (data.get("stages") or {}).values():
        for out in stage.get("outs") or []:
            if out.get("path") == rel and out.get("md5"):
                return {"path": rel, "md5": str(out["md5"]), "size": out.get("size"),
                        "nfiles": out.get("nfiles")}
    return None
