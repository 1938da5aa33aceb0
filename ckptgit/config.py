"""The repository's ``.ckpt/config.yaml``, with defaults for anything it leaves out."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ckptgit import sidecar
from ckptgit.errors import UsageError

CONFIG_PATH = ".ckpt/config.yaml"
DEFAULT_ENV_VARS = ("CUDA_VISIBLE_DEVICES", "PYTHONHASHSEED", "CUBLAS_WORKSPACE_CONFIG")


@dataclass(frozen=True)
class Config:
    env_vars: tuple[str, ...] = DEFAULT_ENV_VARS
    record_packages: bool = True
    key_metrics: tuple[str, ...] = ()
    metric_goals: dict[str, str] = field(default_factory=dict)
    max_header_bytes: int = 100_000_000
    push: str = "auto"
    stages: tuple[str, ...] = ("dev", "staging", "production")
    raw: dict[str, Any] = field(default_factory=dict)


def load(root: Path) -> Config:
    path = root / CONFIG_PATH
    if not path.exists():
        return Config()
    data = sidecar.parse_yaml(path.read_bytes(), CONFIG_PATH) or {}
    if not isinstance(data, dict):
        raise UsageError(f"{CONFIG_PATH} must be a mapping")
    env = data.get("environment") or {}
    metrics = data.get("metrics") or {}
    tensors = data.get("tensors") or {}
    push = str(data.get("push", "auto"))
    if push not in ("auto", "check", "never"):
        raise UsageError(f"{CONFIG_PATH}: push must be auto, check or never, not {push!r}")
    stages = data.get("stages") or ["dev", "staging", "production"]
    stage_names = [s if isinstance(s, str) else next(iter(s)) for s in stages]
    return Config(
        env_vars=tuple(str(v) for v in env.get("env_vars", DEFAULT_ENV_VARS)),
        record_packages=bool(env.get("packages", True)),
        key_metrics=tuple(str(m) for m in metrics.get("key") or ()),
        metric_goals={str(k): str(v) for k, v in (metrics.get("goals") or {}).items()},
        max_header_bytes=int(tensors.get("max_header_bytes", 100_000_000)),
        push=push,
        stages=tuple(stage_names),
        raw=data,
    )
