"""The ``compare:`` and ``check:`` sections of ``.ckpt/config.yaml``, with defaults."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ckptgit.config import CONFIG_PATH
from ckptgit.errors import UsageError

SEVERITIES = ("error", "warning", "info", "off")
DEFAULT_RULES = {
    "regression-parent": "error",
    "regression-stage": "error",
    "regression-baseline": "error",
    "seed-missing": "warning",
    "seed-changed": "error",
    "environment-drift": "warning",
    "dirty-code": "warning",
    "non-finite-metric": "error",
    "data-hash-missing": "warning",
}


@dataclass(frozen=True)
class Settings:
    js_distance: float = 0.1
    ece_delta: float = 0.02
    weights_top: int = 15
    regression: float = 0.01
    thresholds: dict[str, float] = field(default_factory=dict)
    stages: tuple[str, ...] = ()
    rules: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_RULES))

    def threshold(self, metric: str) -> float:
        return self.thresholds.get(metric, self.thresholds.get(metric.rsplit(".", 1)[-1],
                                                                self.regression))


def from_raw(raw: Mapping[str, Any]) -> Settings:
    """Settings from the parsed config file; a wrong value is one clear usage error."""
    cmp, chk = raw.get("compare") or {}, raw.get("check") or {}
    dist = cmp.get("distributions") or {}
    try:
        rules = dict(DEFAULT_RULES)
        for rule, given in (chk.get("rules") or {}).items():
            severity = "off" if given is False else given  # YAML 1.1 reads a bare off as false
            if rule not in DEFAULT_RULES or severity not in SEVERITIES:
                raise ValueError(f"check.rules.{rule}: {severity!r} (rules: "
                                 f"{', '.join(DEFAULT_RULES)}; severities: "
                                 f"{', '.join(SEVERITIES)})")
            rules[rule] = severity
        return Settings(
            js_distance=float(dist.get("js_distance", 0.1)),
            ece_delta=float(dist.get("ece_delta", 0.02)),
            weights_top=int(cmp.get("weights_top", 15)),
            regression=float(chk.get("regression", 0.01)),
            thresholds={str(k): float(v) for k, v in (chk.get("thresholds") or {}).items()},
            stages=tuple(str(s) for s in chk.get("stages") or ()),
            rules=rules,
        )
    except (TypeError, ValueError, AttributeError) as exc:
        raise UsageError(f"{CONFIG_PATH}: bad compare/check setting: {exc}") from exc
