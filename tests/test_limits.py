"""The limits and the one loader: bounds hold, are configurable, and reach worker processes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ckptgit import config, limits, loader, sidecar
from ckptgit.errors import UsageError

BOMB = ("a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
        "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
        "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
        "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\nh: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
        "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n")


@pytest.fixture(autouse=True)
def default_limits() -> Iterator[None]:
    limits.activate(limits.DEFAULT)
    yield
    limits.activate(limits.DEFAULT)


def test_an_alias_bomb_is_refused_at_its_first_anchor() -> None:
    with pytest.raises(loader.LimitError, match="alias or anchor") as err:
        loader.load_yaml(BOMB, "metrics file")
    assert "line 1" in str(err.value)


def test_plain_yaml_loads_as_before() -> None:
    text = "a: 1\nb: [1, 2.5, {c: d}]\nnote: 'a * b & c'\nwhen: '2024-01-01'\n"
    assert loader.load_yaml(text, "x") == {"a": 1, "b": [1, 2.5, {"c": "d"}],
                                          "note": "a * b & c", "when": "2024-01-01"}


@pytest.mark.parametrize("depth", [65, 1000, 100_000])
def test_nesting_is_refused_at_the_limit(depth: int) -> None:
    with pytest.raises(loader.LimitError, match="nested deeper than 64"):
        loader.load_yaml("[" * depth + "]" * depth, "x", max_bytes=1 << 30)
    with pytest.raises(loader.LimitError, match="nested deeper than 64"):
        loader.load_json("[" * depth + "]" * depth, "x", max_bytes=1 << 30)
    assert loader.load_yaml("[" * 64 + "]" * 64, "x") is not None


def test_limits_come_from_the_config() -> None:
    cfg = config.parse("limits:\n  nesting_depth: 3\n  cel_seconds: 0.5\n")
    assert cfg.limits == limits.Limits(nesting_depth=3, cel_seconds=0.5)
    limits.activate(cfg.limits)
    with pytest.raises(loader.LimitError, match="deeper than 3"):
        loader.load_yaml("a: {b: {c: {d: 1}}}", "x")


@pytest.mark.parametrize("text", ["limits: 5", "limits: {sidecar_bytes: 0}",
                                  "limits: {nesting_depth: 1.5}", "limits: {cel_seconds: .inf}",
                                  "limits: {cel_seconds: true}", "limits: {nope: 1}"])
def test_bad_limits_are_refused(text: str) -> None:
    with pytest.raises(UsageError, match="limits"):
        config.parse(text)


def test_worker_processes_apply_the_active_limits() -> None:
    """verify parses many sidecars in worker processes: they must use this repo's limits."""
    limits.activate(limits.Limits(sidecar_bytes=40))
    texts = [f"schema_version: 1\nid: {i:016x}\nname: n\n".encode() for i in range(250)]
    checked = sidecar.check_many(texts, workers=2)
    assert all(c.doc is None and "over the limit of 40" in (c.error or "") for c in checked)
