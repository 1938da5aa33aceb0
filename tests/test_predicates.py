"""The compiled subset of CEL (``predicates.py``) gives celpy's verdict, or asks celpy.

Hostile cases first (mixed types, NaN, 64-bit edges, missing fields absorbed by ``&&``/``||``,
keys YAML makes from bools), then a property test over generated expressions and contexts.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ckptgit import expressions, predicates
from ckptgit.compare import filtering

BIG = 2 ** 63


def reference(expression: str, row: dict[str, Any]) -> bool:
    """celpy's verdict as ``rank --where`` asks for it (narrowed, a missing field is false)."""
    return expressions.holds(expression, filtering.narrowed(expression, row))


def agrees(expression: str, row: dict[str, Any]) -> bool | None:
    predicate = predicates.compile_filter(expression)
    assert predicate is not None, expression
    fast = predicate(row)
    if fast is not None:
        assert fast == reference(expression, row), (expression, row)
    return fast


HOSTILE = [
    # int against double and back: celpy refuses one direction and answers the other
    ("metrics.acc > 0.5", {"metrics": {"acc": 1}}),
    ("metrics.acc < 1", {"metrics": {"acc": 0.5}}),
    ("metrics.acc == 1", {"metrics": {"acc": 1.0}}),
    ("metrics.acc != 1", {"metrics": {"acc": True}}),
    ("metrics.flag == true", {"metrics": {"flag": 1}}),
    ("metrics.flag < 1.5", {"metrics": {"flag": True}}),
    ("name == 1", {"name": "1"}),
    ("name != 1 || true", {"name": "1"}),
    # non-finite floats reach CEL as strings
    ("metrics.acc > 0.5", {"metrics": {"acc": math.nan}}),
    ("metrics.acc == \"nan\"", {"metrics": {"acc": math.nan}}),
    ("!(metrics.acc < 1e308)", {"metrics": {"acc": math.inf}}),
    ("metrics.acc < 1e400", {"metrics": {"acc": 1.0}}),
    # 64-bit edges: a huge integer anywhere in a named field makes the row unbindable
    ("step >= 9223372036854775807", {"step": BIG - 1}),
    ("step > 0", {"step": BIG}),
    ("step > 0 || true", {"step": BIG}),
    ("metrics.acc > 0.5", {"metrics": {"acc": 0.9, "n": BIG}}),
    ("metrics.acc > 0.5", {"metrics": {"acc": 0.9, "n": -BIG - 1}}),
    ("step < -9223372036854775808", {"step": 0}),
    # missing fields: an error that && and || absorb the way celpy does
    ("metrics.acc > 0.5 || step > 2", {"metrics": {}, "step": 3}),
    ("metrics.acc > 0.5 && step > 2", {"metrics": {}, "step": 1}),
    ("metrics.acc > 0.5 && step > 2", {"metrics": {}, "step": 3}),
    ("!(metrics.acc > 0.5)", {"metrics": {}}),
    ("!(metrics.acc > 0.5) || true", {"metrics": {}}),
    ("(nope > 1 || nope > 2) || true", {}),
    ("metrics.acc.x > 1 || true", {"metrics": {"acc": 1}}),
    ("metrics.acc > 1 || true", {"metrics": [1]}),
    ("metrics.acc > 1 || step > 0", {"metrics": None, "step": 1}),
    # strings: code points, escapes, line separators
    ('name < "z"', {"name": "é"}),
    ('name == "\\u00e9"', {"name": "é"}),
    ('name == "a\u2028b"', {"name": "a\u2028b"}),
    ("name == r'\\n'", {"name": "\\n"}),
    ('"x" in labels', {"labels": ["x", 1]}),
    ('"x" in labels', {"labels": [1]}),
    ('"x" in labels', {"labels": "xyz"}),
    ('name in ["a", "b"]', {"name": "b"}),
    ("step in [1, 2]", {"step": 2.0}),
    # keys that are not strings (YAML: yes/no/null/.inf) and their string twins
    ("params.lr < 0.1", {"params": {"lr": 0.01, True: 1}}),
    ("metrics.acc > 0.5", {"metrics": {"acc": 0.9}, "params": {1: BIG}}),
    ("bool_key == 1 || true", {"bool_key": {True: 1}}),
]


@pytest.mark.parametrize(("expression", "row"), HOSTILE)
def test_hostile_rows_get_celpys_verdict_or_go_to_celpy(expression: str,
                                                        row: dict[str, Any]) -> None:
    agrees(expression, row)


def test_common_rows_are_decided_without_celpy() -> None:
    row = {"metrics": {"acc": 0.7, "loss": 0.1}, "step": 3, "name": "clf",
           "labels": ["x"], "params": {"lr": 0.01}}
    for expression in ["metrics.acc > 0.5 && step > 2", "!(name == \"clf\") || \"x\" in labels",
                       "params.lr <= 1e-2 && (metrics.loss < 0.2 || step != 3)",
                       "name in ['clf', 'reg'] && -1 < step", "metrics.missing > 1 || true"]:
        assert agrees(expression, row) is not None, expression


def test_unbindable_rows_are_false_in_celpy_too() -> None:
    assert expressions.holds("step > 0", {"step": BIG}) is False
    with pytest.raises(expressions.ExpressionError):
        expressions.holds("step > 0", {"step": BIG}, missing_is_false=False)


@pytest.mark.parametrize("expression", [
    "metrics.acc + 1 > 2", "size(labels) > 0", "has(metrics.acc)", "metrics['acc'] > 1",
    "step > 1 ? true : false", "metrics.acc > 1u", "name == null", "name == b'a'",
    "metrics.True == 1", "params.inf > 0", "metrics.flag", "!metrics.flag", "1 < 2",
    "step > -(1)", "labels.exists(x, x == 'a')", "name in [1, 'a']", ".step > 1",
])
def test_expressions_outside_the_subset_are_left_to_celpy(expression: str) -> None:
    assert predicates.compile_filter(expression) is None


# --- property: generated expressions and rows -------------------------------------------------

TOP = ["metrics", "params", "step", "name", "labels", "x"]
KEYS = ["acc", "lr", "a", "True"]
ints = st.one_of(st.integers(-3, 3), st.sampled_from([BIG - 1, BIG, -BIG, -BIG - 1, 2 ** 64]))
floats = st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                   st.sampled_from([0.5, -0.0, 1.0, 2.0]))
texts = st.one_of(st.sampled_from(["a", "b", "é", "nan", "1", ""]),
                  st.text(st.characters(exclude_categories=("Cs",)), max_size=3))
scalars = st.one_of(st.none(), st.booleans(), ints, floats, texts)
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3),
    st.dictionaries(st.one_of(st.sampled_from(KEYS), st.sampled_from([True, 1, None])),
                    inner, max_size=3)), max_leaves=8)
rows = st.dictionaries(st.sampled_from(TOP), values, max_size=6)


def literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return repr(value)


constants = st.one_of(st.booleans(), st.integers(-3, 3), st.sampled_from([BIG - 1, -BIG + 1]),
                      st.floats(allow_nan=False, allow_infinity=False, width=32), texts)
paths = st.lists(st.sampled_from(KEYS), max_size=2).flatmap(
    lambda rest: st.sampled_from(TOP).map(lambda top: ".".join([top, *rest])))
ops = st.sampled_from(["<", "<=", ">", ">=", "==", "!="])
comparisons = st.one_of(
    st.tuples(paths, ops, constants).map(lambda t: f"{t[0]} {t[1]} {literal(t[2])}"),
    st.tuples(constants, ops, paths).map(lambda t: f"{literal(t[0])} {t[1]} {t[2]}"),
    st.tuples(texts, paths).map(lambda t: f"{literal(t[0])} in {t[1]}"),
    st.tuples(paths, st.lists(st.integers(-2, 2), min_size=1, max_size=3)).map(
        lambda t: f"{t[0]} in [{', '.join(map(str, t[1]))}]"),
    st.booleans().map(literal))
filters = st.recursive(comparisons, lambda inner: st.one_of(
    inner.map(lambda e: f"!({e})"),
    st.tuples(inner, st.sampled_from(["&&", "||"]), inner).map(
        lambda t: f"({t[0]} {t[1]} {t[2]})")), max_leaves=6)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expression=filters, row=rows)
def test_generated_filters_agree_with_celpy(expression: str, row: dict[str, Any]) -> None:
    try:
        expressions.check(expression)
    except expressions.ExpressionError:
        return  # celpy cannot parse it (e.g. a constant CEL has no literal for)
    predicate = predicates.compile_filter(expression)
    if predicate is not None:
        fast = predicate(row)
        if fast is not None:
            assert fast == reference(expression, row)

