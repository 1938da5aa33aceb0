"""Gates: the checks a checkpoint must pass before a stage tag is made.

Metric gates are CEL expressions over the sidecar (the library ``rank --where`` uses); command
gates run without a shell, with ``CKPT_PATH``, ``CKPT_ID``, ``CKPT_NAME`` and ``CKPT_STAGE``.
"""

from __future__ import annotations

import os
import shlex
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ckptgit import proc
from ckptgit.config import Gate
from ckptgit.errors import PolicyError
from ckptgit.model import Checkpoint, Sidecar


@dataclass(frozen=True)
class GateResult:
    gate: str
    passed: bool
    detail: str
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def context(ckpt: Checkpoint, doc: Sidecar | None = None) -> dict[str, Any]:
    """What a metric expression sees: the sidecar's values, by their sidecar names."""
    base: dict[str, Any] = doc.to_doc() if doc is not None else {}
    base.update(metrics=ckpt.metrics, params=ckpt.params, name=ckpt.name, id=ckpt.id,
                step=ckpt.step, labels=list(ckpt.labels))
    return base


def run(gates: Sequence[Gate], ckpt: Checkpoint, stage: str, *, cwd: Path,
        artifact: Path | None, doc: Sidecar | None = None) -> list[GateResult]:
    """Every metric gate, then (if they all pass) every command gate."""
    results = [_metric(g, context(ckpt, doc)) for g in gates if g.kind == "metric"]
    if any(not r.passed for r in results):
        return results
    env = {**os.environ, "CKPT_ID": ckpt.id, "CKPT_NAME": ckpt.name, "CKPT_STAGE": stage,
           "CKPT_PATH": str(artifact) if artifact is not None else ""}
    return results + [_command(g, cwd, env) for g in gates if g.kind == "command"]


def needs_bytes(gates: Sequence[Gate]) -> bool:
    return any(g.kind == "command" for g in gates)


def require_pass(results: Sequence[GateResult], stage: str) -> None:
    failed = [r for r in results if not r.passed]
    if failed:
        first = failed[0]
        more = f" (+{len(failed) - 1} more)" if len(failed) > 1 else ""
        raise PolicyError(f"gate failed for {stage}: {first.gate}: {first.detail}{more}; "
                          "nothing was tagged")


def _metric(gate: Gate, ctx: Mapping[str, Any]) -> GateResult:
    from ckptgit import expressions

    start = time.perf_counter()
    try:
        ok = expressions.holds(gate.value, ctx, missing_is_false=False)
        detail = "holds" if ok else "does not hold (" + _values(gate.value, ctx) + ")"
    except expressions.ExpressionError as exc:
        ok, detail = False, str(exc)
    return GateResult(gate.describe(), ok, detail, time.perf_counter() - start)


def _values(expression: str, ctx: Mapping[str, Any]) -> str:
    metrics = ctx.get("metrics") or {}
    shown = [f"{k}={v}" for k, v in metrics.items() if f"metrics.{k}" in expression]
    return ", ".join(shown) or "values not recorded"


def _command(gate: Gate, cwd: Path, env: Mapping[str, str]) -> GateResult:
    start = time.perf_counter()
    code, output = proc.run_gate(shlex.split(gate.value), cwd, env, gate.timeout)
    tail = " | ".join(ln for ln in output.strip().splitlines()[-3:])
    if code == 0:
        detail = "exit 0"
    elif code is None:
        detail = output.strip()
    else:
        detail = f"exit {code}" + (f": {tail}" if tail else "")
    return GateResult(gate.describe(), code == 0, detail, time.perf_counter() - start)
