"""Which files supply a save's metrics and params, and only those that belong to this run.

Named files (``--metrics``/``--params``, or ``save: {metrics: [...], params: [...]}`` in
``.ckpt/config.yaml``) are always read. dvclive's ``DIR/metrics.json`` and ``DIR/params.yaml``
(DIR is ``save.dvclive`` in the config, else ``dvclive``) are read when the user names no file of
that kind, and then only when they were written after the previous save of this name and after
the run began: a stale file from another run is skipped and said so. When the config names the
dvclive folder, its files are taken as this run's. The root ``params.yaml`` is never read unless
named. dvclive's ``step`` becomes the checkpoint's step, not a metric.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ckptgit.capture import values
from ckptgit.errors import UsageError

DVCLIVE_DIR = "dvclive"


@dataclass(frozen=True)
class Supplied:
    """Values read from files, and which files they came from (repository-relative)."""

    metrics: dict[str, Any]
    params: dict[str, Any]
    step: int | None
    metrics_files: tuple[str, ...] = ()
    params_files: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()  # "<file> (why)"

    @property
    def files(self) -> tuple[str, ...]:
        return self.metrics_files + self.params_files

    def describe(self) -> str:
        parts = [f"metrics from {', '.join(self.metrics_files) or 'no file'}",
                 f"params from {', '.join(self.params_files) or 'no file'}"]
        if self.step is not None:
            parts.append(f"step {self.step} from dvclive")
        if self.skipped:
            parts.append(f"skipped {'; '.join(self.skipped)}")
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {"metrics": list(self.metrics_files), "params": list(self.params_files),
                "step_from_dvclive": self.step, "skipped": list(self.skipped)}


@dataclass(frozen=True)
class Asked:
    """What the save request names."""

    metrics_file: Path | None
    params_file: Path | None
    has_metrics: bool  # metrics given as values (``--metric``, a mapping)
    since: float | None  # files older than this (seconds) belong to an earlier save or run
    # (bytes, mtime) of files read when a background save was asked for: what they said then
    pinned: Mapping[str, tuple[bytes, float]] = field(default_factory=dict)
    # whether a dvclive file changed since the previous save of this name in this process:
    # decided by its bytes, which a file clock's coarse ticks cannot blur
    changed: Mapping[str, bool] = field(default_factory=dict)

    def read(self, path: Path) -> tuple[bytes, float] | None:
        found = self.pinned.get(os.fspath(path.resolve()))
        if found is not None:
            return found
        try:
            return path.read_bytes(), os.stat(path).st_mtime
        except OSError:
            return None


def gather(root: Path, asked: Asked, settings: Mapping[str, Any]) -> Supplied:
    live_dir = settings.get("dvclive")
    live = root / str(live_dir or DVCLIVE_DIR)
    trusted = live_dir is not None  # named in config: this run's by the user's word
    metrics: dict[str, Any] = {}
    params: dict[str, Any] = {}
    used_m: list[Path] = []
    used_p: list[Path] = []
    skipped: list[str] = []
    step = None
    named_m = _named(root, settings, "metrics")
    named_p = _named(root, settings, "params")
    if asked.metrics_file is not None:
        named_m = [asked.metrics_file]
    if asked.params_file is not None:
        named_p = [asked.params_file]
    if not named_m and not asked.has_metrics:
        named_m = _fresh(root, asked, live / "metrics.json", trusted, skipped)
    if not named_p:
        named_p = _fresh(root, asked, live / "params.yaml", trusted, skipped)
    for path in named_m:
        found = _read(asked, path, "metrics")
        if path.resolve() == (live / "metrics.json").resolve():
            step = _step(found.pop("step", None), path)
        metrics = values.merge(metrics, found)
        used_m.append(path)
    for path in named_p:
        params = values.merge(params, _read(asked, path, "params"))
        used_p.append(path)
    return Supplied(metrics, params, step, _rel(root, used_m), _rel(root, used_p),
                    tuple(skipped))


def _named(root: Path, settings: Mapping[str, Any], kind: str) -> list[Path]:
    given = settings.get(kind) or []
    if isinstance(given, str):
        given = [given]
    if not isinstance(given, Sequence) or not all(isinstance(g, str) for g in given):
        raise UsageError(f".ckpt/config.yaml: save.{kind} must be a file or a list of files")
    return [root / g for g in given]


def _read(asked: Asked, path: Path, what: str) -> dict[str, Any]:
    found = asked.read(path)
    if found is None:
        raise UsageError(f"{what} file {path} does not exist")
    return values.parse(found[0], path, what)


def _fresh(root: Path, asked: Asked, path: Path, trusted: bool,
           skipped: list[str]) -> list[Path]:
    found = asked.read(path)
    if found is None:
        return []
    since = asked.since
    verdict = asked.changed.get(os.fspath(path.resolve()))
    if trusted or verdict or (verdict is None and (since is None or found[1] > since)):
        return [path]
    skipped.append(f"{_rel(root, [path])[0]} (written before this run or its last save)")
    return []


def _step(value: Any, path: Path) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise UsageError(f"{path}: step must be a whole number of 0 or more, not {value!r}")
    return value


def _rel(root: Path, found: list[Path]) -> tuple[str, ...]:
    out = []
    for path in found:
        try:
            out.append(path.resolve().relative_to(root.resolve()).as_posix())
        except ValueError:
            out.append(str(path))
    return tuple(out)
