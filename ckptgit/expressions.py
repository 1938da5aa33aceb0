"""Filter and gate expressions in CEL (Common Expression Language), never Python ``eval``.

Used by ``rank --where`` and by promotion gates (``metrics.accuracy >= 0.9``). The context is
plain JSON-like data: ``metrics``, ``params``, ``labels``, ``seeds``, ``name``, ``step`` …
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping
from typing import Any

from ckptgit.errors import UsageError


class ExpressionError(UsageError):
    """An expression that does not parse, or that cannot be evaluated on a checkpoint."""


@functools.lru_cache(maxsize=1024)
def _program(expression: str, compiled: bool = False) -> Any:
    """``compiled``: celpy's transpiler to Python (guardrails: ~0.3 ms a rule instead of ~2 ms
    for the tree walker); its evaluation errors are ours to report, not celpy's log lines."""
    import celpy

    if compiled:
        import logging

        logging.getLogger("celpy").setLevel(logging.CRITICAL)
        transpiled = _without_has(expression)
        if "has(" not in transpiled:
            env = celpy.Environment(runner_class=celpy.CompiledRunner)
            try:
                return env.program(env.compile(transpiled))
            except Exception:  # noqa: BLE001, S110 - the tree walker below reports it
                pass
    env = celpy.Environment()
    try:
        return env.program(env.compile(expression))
    except Exception as exc:  # noqa: BLE001 - celpy raises bare Exception subclasses
        column = getattr(exc, "column", None)
        where = f"syntax error at column {column}" if column else type(exc).__name__
        raise ExpressionError(f"invalid CEL expression {expression!r}: {where} (e.g. "
                              "'metrics.accuracy >= 0.9 && params.lr < 0.01')") from exc


# ``has(a.b.c)`` on maps is ``"c" in a.b`` (both fail the same way when ``a.b`` is missing).
# celpy 0.5's transpiler mishandles the has() macro (it fails to compile, or negated fails to
# evaluate), so the compiled runner gets the equivalent membership test.
_HAS = re.compile(r"\bhas\(\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)"
                  r"\.([A-Za-z_][A-Za-z0-9_]*)\s*\)")


def _without_has(expression: str) -> str:
    return _HAS.sub(lambda m: f'("{m.group(2)}" in {m.group(1)})', expression)


def check(expression: str, compiled: bool = False) -> None:
    """Raise ``ExpressionError`` now rather than on the first checkpoint."""
    _program(expression, compiled)


def evaluate(expression: str, context: Mapping[str, Any]) -> Any:
    """The value of ``expression`` on ``context``, converted back to plain Python."""
    return evaluate_bound(expression, bind(context))


def bind(context: Mapping[str, Any]) -> Any:
    """``context`` converted to CEL values once, for many expressions (``evaluate_bound``)."""
    from celpy.adapter import json_to_cel

    return json_to_cel(_jsonable(context))


def evaluate_bound(expression: str, bound: Any, compiled: bool = False) -> Any:
    """The value of ``expression`` on a context ``bind`` converted."""
    program = _program(expression, compiled)
    try:
        value = program.evaluate(bound)
    except Exception as exc:  # noqa: BLE001 - CELEvalError and friends
        raise ExpressionError(f"cannot evaluate {expression!r}: {_detail(exc)}") from exc
    if isinstance(value, Exception):
        raise ExpressionError(f"cannot evaluate {expression!r}: {value}")
    return _plain(value)


def _detail(exc: BaseException) -> object:
    """The innermost message: the compiled runner wraps the tree walker's error as
    ``("evaluation error", type, (message, …))``."""
    args = getattr(exc, "args", None)
    if not args:
        return exc
    if len(args) == 3 and isinstance(args[2], tuple) and args[2] and isinstance(args[2][0], str):
        return args[2][0]
    return args[0]


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
