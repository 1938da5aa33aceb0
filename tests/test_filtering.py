"""rank --where over many checkpoints: narrowed contexts and worker processes agree with the
plain evaluation, including fields the expression does not name and missing fields."""

from __future__ import annotations

from ckptgit import expressions
from ckptgit.compare import filtering


def contexts(n: int) -> list[dict[str, object]]:
    return [{"name": f"m{i}", "step": i, "labels": ["x"] if i % 3 == 0 else [],
             "metrics": {"acc": i / n} if i % 7 else {}, "params": {"lr": 0.1}}
            for i in range(n)]


def test_narrowed_contexts_give_the_same_answers_in_workers_and_here() -> None:
    expr = 'metrics.acc > 0.5 && "x" in labels && step % 2 == 0'
    ctx = contexts(filtering.PARALLEL_FROM + 10)
    plain = [expressions.holds(expr, c) for c in ctx]
    assert filtering.holds_many(expr, ctx, workers=2) == plain
    assert filtering.holds_many(expr, ctx[:50], workers=1) == plain[:50]
    assert any(plain) and not all(plain)


def test_a_name_inside_a_string_literal_keeps_the_field() -> None:
    assert filtering.narrowed('name == "metrics"', {"name": "a", "metrics": {}}) == {"name": "a",
                                                                                    "metrics": {}}


def test_compiled_filters_send_the_rows_they_cannot_decide_to_celpy() -> None:
    # metrics.acc an int (celpy: no int/double overload), a NaN (a string to CEL), a huge
    # integer beside it (celpy cannot bind the row): each row must get celpy's verdict
    odd: list[object] = [1, float("nan"), True, "0.9", None]
    ctx = contexts(filtering.PARALLEL_FROM + 10)
    for i, c in enumerate(ctx[:200]):
        c["metrics"] = {"acc": 0.9, "n": 2 ** 64} if i % 11 == 0 else {"acc": odd[i % len(odd)]}
    expr = 'metrics.acc > 0.5 && ("x" in labels || step > 7)'
    plain = [expressions.holds(expr, filtering.narrowed(expr, c)) for c in ctx]
    assert filtering.holds_many(expr, ctx, workers=2) == plain
    assert filtering.holds_many(expr, ctx[:300], workers=1) == plain[:300]
    assert any(plain) and not all(plain)
