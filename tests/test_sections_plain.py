"""``compare.sections.changes`` answers exactly what deepdiff answers, with or without it.

The usual params, seeds and environments (string-keyed mappings of scalars) are diffed without
importing deepdiff; everything else goes to deepdiff. A differential property holds the two to
the same rows, over trees built to hit the edges: 1, 1.0 and True, None, NaN, mappings
replaced by values, lists, keys that are not strings.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ckptgit.compare import sections

NAN = float("nan")
SCALARS = st.sampled_from([0, 1, 1.0, True, False, None, "", "1", "a", 0.0, -0.0, 2.5, NAN])
KEYS = st.sampled_from(["a", "b", "c", "", "x.y", "[0]", 1, True, None])
TREES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(KEYS, inner, max_size=4), max_leaves=12)
ROOTS = st.dictionaries(KEYS, TREES, max_size=5)


def deep(old: Any, new: Any) -> list[sections.Change]:
    found = sections._deep_changes(old, new)
    return sorted((sections.Change(sections._dotted(p, ""), k, a, b) for p, k, a, b in found),
                  key=lambda c: c.path)


def same_rows(got: list[sections.Change], want: list[sections.Change]) -> None:
    # NaN != NaN: rows compared by their text
    assert [repr(c) for c in got] == [repr(c) for c in want]


@settings(max_examples=500, deadline=None)
@given(ROOTS, ROOTS)
def test_any_two_trees_diff_as_deepdiff_diffs_them(old: dict[Any, Any],
                                                    new: dict[Any, Any]) -> None:
    same_rows(sections.changes(old, new), deep(old, new))


@settings(max_examples=300, deadline=None)
@given(ROOTS, st.data())
def test_a_tree_and_its_edit_diff_as_deepdiff_diffs_them(old: dict[Any, Any],
                                                          data: st.DataObject) -> None:
    new = dict(old)
    for key in data.draw(st.lists(KEYS, max_size=3)):
        new[key] = data.draw(TREES)
    same_rows(sections.changes(old, new), deep(old, new))


def test_typical_params_need_no_deepdiff() -> None:
    old = {"lr": 0.001, "batch": 32, "opt": {"name": "adam", "betas": [0.9, 0.99]}, "v": 1}
    new = {"lr": 0.002, "batch": 32.0, "opt": {"name": "adam", "betas": [0.9, 0.99]}, "w": True}
    assert sections._plain_changes(old, new) is not None
    assert [(c.path, c.change) for c in sections.changes(old, new, "params")] == [
        ("params.batch", "changed"), ("params.lr", "changed"), ("params.v", "removed"),
        ("params.w", "added")]
    same_rows(sections.changes(old, new, "params"), [
        sections.Change(f"params.{c.path}", c.change, c.old, c.new) for c in deep(old, new)])


def test_a_changed_list_a_nan_or_a_replaced_mapping_go_to_deepdiff() -> None:
    for old, new in (({"a": [1, 2]}, {"a": [2, 1]}), ({"a": NAN}, {"a": NAN}),
                     ({"a": {"b": 1}}, {"a": 1}), ({1: "x"}, {1: "y"})):
        assert sections._plain_changes(old, new) is None
