"""The CEL parser's table cache (ckptgit/expressions.py): written in the user's cache
directory, rebuilt when damaged, and the parse trees it makes let guardrails run transpiled."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ckptgit import expressions


@pytest.fixture
def fresh_parser(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    from celpy.celparser import CELParser

    monkeypatch.setattr(CELParser, "CEL_PARSER", None)  # restored after the test
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    expressions._compiled.cache_clear()
    yield tmp_path / "cache" / "ckptgit"
    expressions._compiled.cache_clear()


def test_the_tables_are_cached_in_the_users_cache_directory(fresh_parser: Path) -> None:
    assert expressions.evaluate("metrics.acc >= 0.9", {"metrics": {"acc": 0.95}}) is True
    [cached] = list(fresh_parser.iterdir())
    assert cached.stat().st_size > 1000 and (fresh_parser.stat().st_mode & 0o777) == 0o700


def test_a_damaged_cache_is_rebuilt_not_trusted(fresh_parser: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from celpy.celparser import CELParser

    assert expressions.evaluate("1 + 1 == 2", {}) is True
    [cached] = list(fresh_parser.iterdir())
    cached.write_bytes(b"not a digest\n\x80\x04garbage")
    monkeypatch.setattr(CELParser, "CEL_PARSER", None)  # a new process
    expressions._compiled.cache_clear()
    assert expressions.evaluate("2 + 2 == 4", {}) is True
    assert not cached.read_bytes().startswith(b"not a digest")  # written again
    with pytest.raises(expressions.ExpressionError, match="syntax error"):
        expressions.check("metrics.acc >=", compiled=True)


def test_guardrails_run_transpiled_with_the_same_answers(fresh_parser: Path) -> None:
    ctx = {"params": {"lr": 0.5, "optimizer": "sgd"}, "seeds": {}}
    for text, expected in (('params.lr > 0.1 && params.optimizer == "sgd"', True),
                           ("has(seeds.torch)", False), ("!has(params.lr)", False)):
        assert type(expressions._compiled(text, True).program).__name__ == "CompiledRunner"
        bound = expressions.bind(ctx)
        assert expressions.evaluate_bound(text, bound, compiled=True) is expected
        assert expressions.evaluate(text, ctx) is expected  # the tree walker agrees
