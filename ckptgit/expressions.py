"""Filter and gate expressions in CEL (Common Expression Language), never Python ``eval``.

Used by ``rank --where`` and by promotion gates (``metrics.accuracy >= 0.9``). The context is
plain JSON-like data: ``metrics``, ``params``, ``labels``, ``seeds``, ``name``, ``step`` …
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from typing import Any

from ckptgit.errors import UsageError


class ExpressionError(UsageError):
    """An expression that does not parse, or that cannot be evaluated on a checkpoint."""


@functools.lru_cache(maxsize=256)
def _program(expression: str) -> Any:
    import celpy

    env = celpy.Environment()
    try:
        return env.program(env.compile(expression))
    except Exception as exc:  # noqa: BLE001 - celpy raises bare Exception subclasses
        column = getattr(exc, "column", None)
        where = f"syntax error at column {column}" if column else type(exc).__name__
        raise ExpressionError(f"invalid CEL expression {expression!r}: {where} (e.g. "
                              "'metrics.accuracy >= 0.9 && params.lr < 0.01')") from exc


def check(expression: str) -> None:
    """Raise ``ExpressionError`` now rather than on the first checkpoint."""
    _program(expression)


def evaluate(expression: str, context: Mapping[str, Any]) -> Any:
    """The value of ``expression`` on ``context``, converted back to plain Python."""
    return evaluate_bound(expression, bind(context))


def bind(context: Mapping[str, Any]) -> Any:
    """``context`` converted to CEL values once, for many expressions (``evaluate_bound``)."""
    from celpy.adapter import json_to_cel

    return json_to_cel(_jsonable(context))


def evaluate_bound(expression: str, bound: Any) -> Any:
    """The value of ``expression`` on a context ``bind`` converted."""
    program = _program(expression)
    try:
        value = program.evaluate(bound)
    except Exception as exc:  # noqa: BLE001 - CELEvalError and friends
        detail = exc.args[0] if getattr(exc, "args", None) else exc
        raise ExpressionError(f"cannot evaluate {expression!r}: {detail}") from exc
    if isinstance(value, Exception):
        raise ExpressionError(f"cannot evaluate {expression!r}: {value}")
    return _plain(value)


def holds(expression: str, context: Mapping[str, Any], missing_is_false: bool = True) -> bool:
    """Whether a boolean expression is true; a missing field counts as false when asked."""
    try:
        value = evaluate(expression, context)
    except ExpressionError:
        if missing_is_false:
            return False
        raise
    if not isinstance(value, bool):
        raise ExpressionError(f"expression {expression!r} gives {value!r}, not true/false")
    return value


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def _plain(value: Any) -> Any:
    import celpy

    if isinstance(value, celpy.celtypes.BoolType):
        return bool(value)
    if isinstance(value, (celpy.celtypes.IntType, celpy.celtypes.UintType)):
        return int(value)
    if isinstance(value, celpy.celtypes.DoubleType):
        return float(value)
    if isinstance(value, celpy.celtypes.StringType):
        return str(value)
    if isinstance(value, celpy.celtypes.ListType):
        return [_plain(v) for v in value]
    if isinstance(value, celpy.celtypes.MapType):
        return {_plain(k): _plain(v) for k, v in value.items()}
    return value
