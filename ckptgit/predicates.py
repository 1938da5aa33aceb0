"""The simple subset of CEL compiled once to a Python predicate, for filters over many rows.

celpy walks its parse tree in pure Python (about 0.25 ms a checkpoint), so ``rank --where``
over 100,000 saves spent most of a minute in it. Most filters are comparisons of a field with
a constant joined by ``&&``, ``||`` and ``!``; for those the parse tree is compiled here into
closures (about a microsecond a row). Everything else keeps going through celpy.

The verdict must be celpy's own (``expressions.holds`` with a missing field counting as false),
so the predicate only answers where it is sure and says "ask celpy" (``None``) otherwise:

- a field read is a chain of names (``metrics.acc``, ``step``); a missing name or key is
  CEL's error value, which ``&&`` and ``||`` absorb as celpy's ``logical_and``/``logical_or``
  do (``false && error`` is false, ``true || error`` is true, ``true && error`` is an error);
  a step through anything but a map is left to celpy;
- a comparison is decided here only when the field holds the constant's own type: an int
  within 64 bits against an int, a finite double against a double, a string against a
  string, a bool against a bool (celpy's mixed-type rules are irregular: ``1 < 1.5`` is an
  error but ``1.0 < 1`` is false, and non-finite floats reach CEL as strings); any other
  pairing goes to celpy;
- a row the predicate accepts is confirmed to bind as celpy would bind it (every value in the
  fields the expression names is plain JSON, every integer within 64 bits, every key a
  string); otherwise celpy decides that row.

A property test (tests/test_predicates.py) holds this to celpy's verdict on generated
expressions and contexts.
"""

from __future__ import annotations

import functools
import math
import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

Row = Mapping[str, Any]
# a verdict: True, False or the CEL error value; _Unsure means "celpy decides this row"
_ERR = object()
_Node = Callable[[Row], Any]
_INT_MIN, _INT_MAX = -(2 ** 63), 2 ** 63 - 1
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "relation_lt": operator.lt, "relation_le": operator.le, "relation_gt": operator.gt,
    "relation_ge": operator.ge, "relation_eq": operator.eq, "relation_ne": operator.ne}
_MIRRORED: dict[Callable[[Any, Any], bool], Callable[[Any, Any], bool]] = {
    operator.lt: operator.gt, operator.le: operator.ge, operator.gt: operator.lt,
    operator.ge: operator.le, operator.eq: operator.eq, operator.ne: operator.ne}
_LITERALS = frozenset({"INT_LIT", "FLOAT_LIT", "STRING_LIT", "MLSTRING_LIT", "BOOL_LIT"})
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_LEAVES = frozenset({str, bool, float, type(None)})
# what str() makes of keys YAML can load that are not strings (bools, None, non-finite floats):
# celpy reads such keys by these names, and a string key of the same name may sit beside them
_SHADOWED = frozenset({"True", "False", "None", "inf", "nan"})


class _Unsure(Exception):
    """This row is outside what the predicate decides: celpy decides it."""


class _Outside(Exception):
    """The expression is outside the subset: celpy decides every row."""


class Predicate:
    """``predicate(row)``: True or False as ``expressions.holds(expr, row)`` answers, or
    None where celpy has to decide that row."""

    def __init__(self, root: _Node, names: frozenset[str]) -> None:
        self._root = root
        self._names = names  # the fields celpy would bind (filtering.narrowed keeps these)

    def __call__(self, row: Row) -> bool | None:
        try:
            verdict = self._root(row)
        except _Unsure:
            return None
        if verdict is not True:
            return False  # false, or an error: a missing field counts as false
        for name in self._names:
            if name in row and not _binds(row[name]):
                return None  # celpy would refuse to bind this row (or bind it otherwise)
        return True


@functools.lru_cache(maxsize=256)
def compile_filter(expression: str) -> Predicate | None:
    """The predicate for ``expression``, or None where it is outside the subset. Call
    ``expressions.check`` first: the limits and the syntax errors are celpy's to report."""
    import celpy

    try:
        tree = celpy.Environment().compile(expression)
        root = _Compiler().bool_node(tree)
    except (_Outside, RecursionError):
        return None
    except Exception:  # noqa: BLE001 - a parse error: celpy reports it
        return None
    return Predicate(root, frozenset(_WORD.findall(expression)))


def _binds(value: Any) -> bool:
    """Whether celpy binds ``value`` to the CEL value the predicate reads: plain JSON types,
    integers within 64 bits, string keys, finite floats (celpy binds others as strings,
    and the predicate never reads them as numbers). Leaves are checked inline: this runs on
    every row a filter keeps."""
    kind = type(value)
    if kind in _LEAVES:
        return True
    if kind is int:
        return bool(_INT_MIN <= value <= _INT_MAX)
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or (type(item) not in _LEAVES and not _binds(item)):
                return False
        return True
    if kind is list:
        return all(type(item) in _LEAVES or _binds(item) for item in value)
    return False


class _Compiler:
    """Lark parse tree (celpy's grammar) to closures; raises ``_Outside`` for anything else."""

    def bool_node(self, tree: Any) -> _Node:
        kind, kids = tree.data, _subtrees(tree)
        if kind == "expr" and len(tree.children) == 1:
            return self.bool_node(kids[0])
        if kind in ("conditionalor", "conditionaland"):
            if len(tree.children) == 1:
                return self.bool_node(kids[0])
            if len(tree.children) == 2 and len(kids) == 2:
                left, right = self.bool_node(kids[0]), self.bool_node(kids[1])
                return _or(left, right) if kind == "conditionalor" else _and(left, right)
        if kind == "relation" and len(tree.children) == 2:
            return self.relation(tree)
        if kind == "unary" and len(kids) == 2 and kids[0].data == "unary_not":
            return _not(self.bool_node(kids[1]))
        if kind in ("relation", "addition", "multiplication", "unary", "member") \
                and len(tree.children) == 1 and len(kids) == 1:
            return self.bool_node(kids[0])
        if kind == "primary" and len(kids) == 1 and kids[0].data == "paren_expr":
            return self.bool_node(_subtrees(kids[0])[0])
        constant = self.constant(tree)
        if type(constant) is bool:
            return lambda row: constant
        raise _Outside

    def relation(self, tree: Any) -> _Node:
        op_tree, right_tree = tree.children
        op = op_tree.data
        (left_tree,) = _subtrees(op_tree)
        if op == "relation_in":
            return self.membership(left_tree, right_tree)
        if op not in _OPS:
            raise _Outside
        path = _path(left_tree)
        if path is not None:
            return _compare(path, _OPS[op], self.constant(right_tree), False)
        path = _path(right_tree)
        if path is None:
            raise _Outside
        return _compare(path, _OPS[op], self.constant(left_tree), True)

    def membership(self, left_tree: Any, right_tree: Any) -> _Node:
        """``"x" in labels`` (a list of strings) and ``name in ["a", "b"]``."""
        path = _path(right_tree)
        if path is not None:
            item = self.constant(left_tree)
            if type(item) is not str:
                raise _Outside
            return _contains(path, item)
        path = _path(left_tree)
        items = self.constant_list(right_tree)
        if path is None or not items or len({type(x) for x in items}) != 1:
            raise _Outside
        return _one_of(path, frozenset(items), type(items[0]))

    def constant(self, tree: Any) -> Any:
        """A literal (or a negated number) as celpy reads it, or ``_Outside``."""
        found = _literal_token(tree)
        if found is None or found[1].type not in _LITERALS:
            raise _Outside
        negated, token = found
        value = _celpy_constant(("-" if negated else "") + str(token))
        if type(value) is int and not _INT_MIN <= value <= _INT_MAX:
            raise _Outside
        return value

    def constant_list(self, tree: Any) -> list[Any]:
        node = _single(tree, ("addition", "multiplication", "unary", "member", "primary"))
        if node is None or node.data != "list_lit":
            raise _Outside
        exprlist = _subtrees(node)
        if len(exprlist) != 1 or exprlist[0].data != "exprlist":
            raise _Outside
        return [self.constant(e) for e in _subtrees(exprlist[0])]


def _subtrees(tree: Any) -> list[Any]:
    return [c for c in tree.children if hasattr(c, "data")]


def _single(tree: Any, through: tuple[str, ...]) -> Any:
    """Down single-child nodes of the kinds ``through`` to the first other node."""
    while tree.data in through:
        if len(tree.children) != 1 or not hasattr(tree.children[0], "data"):
            return tree if tree.data == "primary" else None
        tree = tree.children[0]
    return tree


def _literal_token(tree: Any) -> tuple[bool, Any] | None:
    """The literal token of ``tree`` and whether a unary minus negates it (numbers only)."""
    node = _single(tree, ("expr", "conditionalor", "conditionaland", "relation", "addition",
                          "multiplication", "unary", "member"))
    if node is None:
        return None
    if node.data == "unary" and len(node.children) == 2 and node.children[0].data == "unary_neg":
        inner = _literal_token(node.children[1])
        if inner is None or inner[0] or inner[1].type not in ("INT_LIT", "FLOAT_LIT"):
            return None
        return True, inner[1]
    if node.data == "primary" and len(node.children) == 1:
        literal = node.children[0]
        if getattr(literal, "data", None) == "literal" and len(literal.children) == 1:
            return False, literal.children[0]
    return None


def _path(tree: Any) -> tuple[str, ...] | None:
    """``a.b.c`` as ("a", "b", "c"), or None where ``tree`` is not a plain field read."""
    node = _single(tree, ("relation", "addition", "multiplication", "unary"))
    names: list[str] = []
    while node is not None and node.data == "member":
        if len(node.children) != 1:
            return None
        child = node.children[0]
        if child.data == "member_dot" and len(child.children) == 2:
            node, name = child.children
            names.append(str(name))
        elif child.data == "primary" and len(child.children) == 1 \
                and getattr(child.children[0], "data", None) == "ident":
            names.append(str(child.children[0].children[0]))
            return None if _SHADOWED.intersection(names) else tuple(reversed(names))
        else:
            return None
    return None


@functools.lru_cache(maxsize=1024)
def _celpy_constant(text: str) -> Any:
    """celpy's own reading of a literal (escapes, raw strings, hex, exponents), as Python."""
    import celpy
    import celpy.celtypes as t

    env = celpy.Environment()
    value = env.program(env.compile(text)).evaluate({})
    for cel, plain in ((t.BoolType, bool), (t.IntType, int), (t.DoubleType, float),
                       (t.StringType, str)):
        if type(value) is cel:
            return plain(value)
    raise _Outside


def _reader(path: tuple[str, ...]) -> _Node:
    """The value at ``path``, or the error value where a name or key is missing (one and two
    names, the common cases, without a loop)."""
    first, rest = path[0], path[1:]
    if not rest:
        return lambda row: row.get(first, _ERR)
    if len(rest) == 1:
        second = rest[0]

        def read2(row: Row) -> Any:
            value = row.get(first, _ERR)
            if type(value) is dict:
                return value.get(second, _ERR)
            if value is _ERR:
                return _ERR
            raise _Unsure

        return read2

    def read(row: Row) -> Any:
        value = row.get(first, _ERR)
        for name in rest:
            if value is _ERR:
                return _ERR
            if type(value) is not dict:
                raise _Unsure
            value = value.get(name, _ERR)
        return value

    return read


def _same_kind(value: Any, kind: type) -> bool:
    """``value`` is of the constant's type, as a Python value celpy binds to that CEL type."""
    same = type(value) is kind  # exact: a bool is not an int to CEL
    if not same:
        return False
    if kind is int:
        return bool(_INT_MIN <= value <= _INT_MAX)
    return kind is not float or math.isfinite(value)


def _compare(path: tuple[str, ...], op: Callable[[Any, Any], bool], constant: Any,
             swapped: bool) -> _Node:
    """``field OP constant`` (``constant OP field`` when ``swapped``: the mirrored operator,
    which gives the same answer on two values of one type). One closure per kind of
    constant: this runs once or more on every row."""
    read, kind = _reader(path), type(constant)
    op = _MIRRORED[op] if swapped else op
    finite = math.isfinite

    def unsure(value: Any) -> Any:
        if value is _ERR:
            return _ERR
        raise _Unsure

    def compare_float(row: Row) -> Any:
        value = read(row)  # a non-finite float reaches CEL as a string
        return op(value, constant) if type(value) is float and finite(value) else unsure(value)

    def compare_int(row: Row) -> Any:
        value = read(row)
        if type(value) is int and _INT_MIN <= value <= _INT_MAX:
            return op(value, constant)
        return unsure(value)

    def compare_same(row: Row) -> Any:  # strings, bools
        value = read(row)
        return op(value, constant) if type(value) is kind else unsure(value)

    return compare_float if kind is float else compare_int if kind is int else compare_same


def _contains(path: tuple[str, ...], item: str) -> _Node:
    read = _reader(path)

    def contains(row: Row) -> Any:
        value = read(row)
        if value is _ERR:
            return _ERR
        if type(value) is not list or not all(type(x) is str for x in value):
            raise _Unsure
        return item in value

    return contains


def _one_of(path: tuple[str, ...], items: frozenset[Any], kind: type) -> _Node:
    read = _reader(path)

    def one_of(row: Row) -> Any:
        value = read(row)
        if value is _ERR:
            return _ERR
        if not _same_kind(value, kind):
            raise _Unsure
        return value in items

    return one_of


def _and(left: _Node, right: _Node) -> _Node:
    """celpy's ``logical_and``: both sides are evaluated; false wins over an error."""

    def both(row: Row) -> Any:
        x, y = left(row), right(row)
        if x is False or y is False:
            return False
        return True if x is True and y is True else _ERR

    return both


def _or(left: _Node, right: _Node) -> _Node:
    """celpy's ``logical_or``: true wins over an error."""

    def either(row: Row) -> Any:
        x, y = left(row), right(row)
        if x is True or y is True:
            return True
        return False if x is False and y is False else _ERR

    return either


def _not(inner: _Node) -> _Node:
    def negated(row: Row) -> Any:
        x = inner(row)
        return _ERR if x is _ERR else not x

    return negated

