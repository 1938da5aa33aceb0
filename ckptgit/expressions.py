"""Filter and gate expressions in CEL (Common Expression Language), never Python ``eval``.

Used by ``rank --where`` and by promotion gates (``metrics.accuracy >= 0.9``). The context is
plain JSON-like data: ``metrics``, ``params``, ``labels``, ``seeds``, ``name``, ``step`` …
"""

from __future__ import annotations

import functools
import math
import re
import signal
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import Any

from ckptgit import limits
from ckptgit.errors import UsageError


class ExpressionError(UsageError):
    """An expression that does not parse, or that cannot be evaluated on a checkpoint."""


class CostError(ExpressionError):
    """An expression over the limits (``limits.cel_*``): refused before it runs, or stopped."""


_COMPREHENSIONS = frozenset({"map", "filter", "all", "exists", "exists_one"})
# Python frames the evaluator spends per parse-tree level make deep trees a RecursionError;
# far deeper than any honest filter (100 chained '&&' terms are about 110 levels).
_MAX_TREE_DEPTH = 250


@dataclass(frozen=True)
class _Compiled:
    program: Any
    nodes: int
    depth: int
    comprehensions: int


@functools.lru_cache(maxsize=1024)
def _compiled(expression: str, transpile: bool = False) -> _Compiled:
    """``transpile``: celpy's transpiler to Python (guardrails: ~0.3 ms a rule instead of ~2 ms
    for the tree walker), falling back to the tree walker where it cannot take the expression.
    The limits are judged on the parse tree either way."""
    import celpy

    _cached_parser()
    env = celpy.Environment()
    try:
        tree = env.compile(expression)
    except Exception as exc:  # noqa: BLE001 - celpy raises bare Exception subclasses
        column = getattr(exc, "column", None)
        where = f"syntax error at column {column}" if column else type(exc).__name__
        raise ExpressionError(f"invalid CEL expression {expression!r}: {where} (e.g. "
                              "'metrics.accuracy >= 0.9 && params.lr < 0.01')") from exc
    nodes, depth, comprehensions = _shape(tree)
    program = _transpiled(expression, tree) if transpile else None
    if program is None:
        # a fresh tree where the transpiler took this one: it may have annotated it
        took = transpile and "has(" not in expression and _without_has(expression) == expression
        program = env.program(env.compile(expression) if took else tree)
    return _Compiled(program, nodes, depth, comprehensions)


_CEL_VERSION = "0.5.0"  # the cel-python whose parser options _cached_parser repeats


def _cached_parser() -> None:
    """celpy's parser with Lark's table cache: celpy builds its LALR tables from the grammar
    in every process (~0.3 s, most of what 50 guardrails add to a save); Lark keeps them in a
    file checked against a digest of the grammar and options. The file lives in the user's own
    cache directory (a pickle: never a shared temporary directory). The options are celpy
    0.5's own; under any other version celpy builds its parser itself."""
    import os
    from importlib import metadata
    from pathlib import Path

    from celpy.celparser import CELParser

    if CELParser.CEL_PARSER is not None:
        return
    try:
        if metadata.version("cel-python") != _CEL_VERSION:
            return
    except metadata.PackageNotFoundError:
        return
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    cache = Path(base) / "ckptgit"
    try:
        cache.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError:
        return
    import celpy
    import celpy.celparser
    import lark

    grammar = (Path(celpy.celparser.__file__).parent / "cel.lark").read_text()
    CELParser.CEL_PARSER = lark.Lark(
        grammar, parser="lalr", start="expr", debug=True, g_regex_flags=re.M,
        lexer_callbacks={"IDENT": CELParser.ambiguous_literals}, propagate_positions=True,
        maybe_placeholders=False, priority="invert",
        # the transpiler's node class (a lark.Tree the tree walker reads too): the class is
        # fixed by the first parser a process builds, and plain lark.Tree nodes make every
        # guardrail fall back to the slower tree walker
        tree_class=celpy.CompiledRunner.tree_node_class,
        cache=str(cache / f"cel-{_CEL_VERSION}-lark-{lark.__version__}.cache"))


def _transpiled(expression: str, tree: Any) -> Any | None:
    """The compiled runner's program, or None where it cannot take the expression; its
    evaluation errors are ours to report, not celpy's log lines. ``tree`` is the parse of
    ``expression``, reused when no ``has()`` needs rewriting (parsing is most of compiling:
    50 guardrails parsed twice cost a guarded save ~0.1 s more)."""
    import logging

    import celpy

    logging.getLogger("celpy").setLevel(logging.CRITICAL)
    text = _without_has(expression)
    if "has(" in text:
        return None
    env = celpy.Environment(runner_class=celpy.CompiledRunner)
    try:
        return env.program(tree if text == expression else env.compile(text))
    except Exception:  # noqa: BLE001 - the tree walker takes it instead
        return None


# ``has(a.b.c)`` on maps is ``"c" in a.b`` (both fail the same way when ``a.b`` is missing).
# celpy 0.5's transpiler mishandles the has() macro (it fails to compile, or negated fails to
# evaluate), so the compiled runner gets the equivalent membership test.
_HAS = re.compile(r"\bhas\(\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)"
                  r"\.([A-Za-z_][A-Za-z0-9_]*)\s*\)")


def _without_has(expression: str) -> str:
    return _HAS.sub(lambda m: f'("{m.group(2)}" in {m.group(1)})', expression)


def _shape(tree: Any) -> tuple[int, int, int]:
    """Node count, depth and comprehension nesting of a parse tree, without recursion."""
    nodes = depth = most = 0
    stack = [(tree, 1, 0)]
    while stack:
        node, level, nested = stack.pop()
        nodes += 1
        depth, most = max(depth, level), max(most, nested)
        children = [c for c in getattr(node, "children", ()) if hasattr(c, "children")]
        inner = nested + (node.data == "member_dot_arg" and any(
            getattr(c, "type", None) == "IDENT" and str(c) in _COMPREHENSIONS
            for c in node.children))
        # the receiver of '.map' is outside the comprehension; its arguments are inside
        stack.extend((c, level + 1, nested if i == 0 and inner > nested else inner)
                     for i, c in enumerate(children))
    return nodes, depth, most


def _program(expression: str, compiled: bool = False) -> Any:
    """The compiled program, once the expression is within every static limit."""
    bound = limits.active()
    if len(expression) > bound.cel_chars:
        raise CostError(f"CEL expression of {len(expression)} characters is over the limit of "
                        f"{bound.cel_chars} (limits.cel_chars)")
    try:
        shaped = _compiled(expression, compiled)
    except RecursionError as exc:
        raise CostError(f"CEL expression {expression[:60]!r} is nested too deeply") from exc
    if shaped.nodes > bound.cel_nodes or shaped.depth > _MAX_TREE_DEPTH:
        raise CostError(f"CEL expression {expression[:60]!r} is too large or too deeply nested "
                        f"({shaped.nodes} parse nodes; limits.cel_nodes {bound.cel_nodes})")
    if shaped.comprehensions > bound.cel_comprehensions:
        raise CostError(f"CEL expression {expression[:60]!r} nests {shaped.comprehensions} "
                        ".map/.filter/.all/.exists inside each other, over the limit of "
                        f"{bound.cel_comprehensions} (limits.cel_comprehensions)")
    return shaped.program


def check(expression: str, compiled: bool = False) -> None:
    """Raise ``ExpressionError`` now rather than on the first checkpoint."""
    _program(expression, compiled)


def evaluate(expression: str, context: Mapping[str, Any]) -> Any:
    """The value of ``expression`` on ``context``, converted back to plain Python."""
    return evaluate_bound(expression, bind(context))


def bind(context: Mapping[str, Any]) -> Any:
    """``context`` converted to CEL values once, for many expressions (``evaluate_bound``)."""
    from celpy.adapter import json_to_cel

    try:
        return json_to_cel(_jsonable(context))
    except (ValueError, TypeError) as exc:
        # an integer beyond CEL's 64 bits, or a value CEL has no type for: this context
        # cannot be evaluated (a missing field would not be either), not a crash
        raise ExpressionError(f"cannot evaluate on this context: {exc}") from exc


def evaluate_bound(expression: str, bound: Any, compiled: bool = False) -> Any:
    """The value of ``expression`` on a context ``bind`` converted.

    Stopped after ``limits.cel_seconds``: a filter that passes the static bounds can still
    walk a large list from a sidecar once per element of another.
    """
    program = _program(expression, compiled)
    seconds = limits.active().cel_seconds
    try:
        with _deadline(seconds):
            value = program.evaluate(bound)
    except _Expired as exc:
        raise CostError(f"CEL expression {expression[:60]!r} ran longer than {seconds:g} s on "
                        "one checkpoint (limits.cel_seconds); stopped") from exc
    except RecursionError as exc:
        raise CostError(f"CEL expression {expression[:60]!r} is nested too deeply") from exc
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


@contextmanager
def _alarm(seconds: float) -> Iterator[None]:
    """Raise ``_Expired`` in this (main) thread after ``seconds``, and again every 50 ms until
    the block ends: a signal that lands while Python runs a finalizer has its exception
    swallowed, so one alarm is not enough. A timer already set (e.g. a test timeout) is put
    back afterwards with what was left of it."""
    armed = [True]

    def expire(signum: int, frame: FrameType | None) -> None:
        if armed[0]:
            raise _Expired

    start = time.monotonic()
    old = signal.signal(signal.SIGALRM, expire)
    left, interval = signal.setitimer(signal.ITIMER_REAL, seconds, 0.05)
    try:
        yield
    finally:
        armed[0] = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        if left:
            signal.setitimer(signal.ITIMER_REAL,
                             max(left - (time.monotonic() - start), 0.001), interval)


class _Expired(BaseException):
    """Raised inside the evaluator when its time is up; a BaseException so that celpy's own
    ``except Exception`` cannot turn it into an ordinary evaluation error."""


@contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """A timer signal in the main thread (free while it runs); elsewhere a profile hook that
    looks at the clock every few thousand calls."""
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
        with _alarm(seconds):
            yield
        return
    end, calls = time.monotonic() + seconds, [0]

    def watch(frame: FrameType, event: str, arg: Any) -> None:
        calls[0] += 1
        if calls[0] % 4096 == 0 and time.monotonic() > end:
            raise _Expired

    previous = sys.getprofile()
    sys.setprofile(watch)
    try:
        yield
    finally:
        sys.setprofile(previous)


def holds(expression: str, context: Mapping[str, Any], missing_is_false: bool = True) -> bool:
    """Whether a boolean expression is true; a missing field counts as false when asked."""
    try:
        value = evaluate(expression, context)
    except CostError:
        raise
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
