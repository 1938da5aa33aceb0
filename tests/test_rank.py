"""``git ckpt rank``: order, ties, CEL filters."""

from __future__ import annotations

import math
from typing import Any

from conftest import Repo
from hypothesis import given, settings
from hypothesis import strategies as st

from ckptgit.compare import metrics, ranking


def saves(repo: Repo, *runs: tuple[str, ...]) -> list[str]:
    repo.model()
    return [repo.save("models/clf.safetensors", "clf", *args)["id"] for args in runs]


def test_rank_by_metric_ties_broken_by_next_criterion_then_time(repo: Repo) -> None:
    ids = saves(repo,
                ("--metric", "acc=0.9", "--metric", "latency=20"),   # 0
                ("--metric", "acc=0.95", "--metric", "latency=30"),  # 1: best acc
                ("--metric", "acc=0.9", "--metric", "latency=10"),   # 2: ties 0 on acc, faster
                ("--metric", "acc=0.9", "--metric", "latency=10"),   # 3: ties 2 fully, later
                ("--metric", "latency=1",))                          # 4: no acc: last
    got = repo.ckpt_ok("rank", "--by", "acc", "--by", "latency:min", "--json").json()
    assert [r["id"] for r in got] == [ids[1], ids[2], ids[3], ids[0], ids[4]]
    assert [r["rank"] for r in got] == [1, 2, 3, 4, 5]
    assert got[0]["values"] == {"acc": 0.95, "latency": 30}
    top = repo.ckpt_ok("rank", "--by", "acc:max", "--top", "2", "--json").json()
    assert [r["id"] for r in top] == [ids[1], ids[0]]  # 0, 2 and 3 tie: earliest first


def test_where_filters_with_cel(repo: Repo) -> None:
    ids = saves(repo,
                ("--metric", "acc=0.9", "--param", "lr=0.1", "--label", "baseline"),
                ("--metric", "acc=0.8", "--param", "lr=0.001"),
                ("--metric", "acc=0.7", "--param", "lr=0.0001"))
    got = repo.ckpt_ok("rank", "--by", "acc", "--where", "params.lr < 0.01", "--json").json()
    assert [r["id"] for r in got] == [ids[1], ids[2]]
    got = repo.ckpt_ok("rank", "--by", "acc", "--where", '"baseline" in labels', "--json").json()
    assert [r["id"] for r in got] == [ids[0]]
    text = repo.ckpt_ok("rank", "--by", "acc", "--where", "metrics.acc >= 0.8").out
    assert ids[0][:8] in text and ids[2][:8] not in text


def test_bad_input_is_a_usage_error(repo: Repo) -> None:
    saves(repo, ("--metric", "acc=0.9", "--metric", "widgets=3"))
    res = repo.ckpt("rank", "--by", "acc", "--where", "params.lr <")
    assert res.code == 2 and "invalid CEL expression" in res.err and "column" in res.err
    res = repo.ckpt("rank", "--by", "widgets")  # neither config nor name says which way
    assert res.code == 2 and "widgets:max" in res.err
    res = repo.ckpt("rank", "--by", "acc", "--where", "1 + 1")
    assert res.code == 2 and "not true/false" in res.err
    # CEL, not Python: a Python call is an unknown function, so nothing matches
    res = repo.ckpt("rank", "--by", "acc", "--where", "__import__('os').getcwd() != ''")
    assert res.code == 0 and "no checkpoint matches" in res.err


scalars = st.one_of(st.booleans(), st.integers(), st.floats(), st.text(max_size=2))
metric_keys = st.one_of(st.sampled_from(["acc", "loss", "True", "None", "inf", "a.b", "a", "",
                                         "b.acc"]),
                        st.sampled_from([True, None, 1, math.inf]))
metric_docs = st.recursive(st.one_of(scalars, st.none()), lambda inner: st.dictionaries(
    metric_keys, inner, max_size=4), max_leaves=8)


@settings(max_examples=500, deadline=None)
@given(doc=metric_docs, name=st.sampled_from(["acc", "loss", "True", "None", "inf", "a.b", "a",
                                              "acc.loss", "a.b.acc", "True.acc", "acc.", ""]))
def test_rank_reads_one_metric_as_flattening_does(doc: Any, name: str) -> None:
    values = doc if isinstance(doc, dict) else {}
    want = metrics.flatten(values).get(name)
    got = ranking._flat_get(values, name)
    assert got is want or got == want, (values, name)
