"""The exact-form reader of a sidecar's row keys answers as YAML does, or defers to it."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ckptgit import index, limits, sidecar, sidecar_keys, yamlsafe
from ckptgit.errors import CkptError

PROPERTY = settings(max_examples=300, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _doc(**over: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "schema_version": 1, "id": "19b9a9d03a0c34c7", "name": "clf",
        "created_at": "2026-01-01T00:00:00.000000Z",
        "artifact": {"path": "models/clf.safetensors", "kind": "file", "format": "safetensors",
                     "size": 90000689, "md5": "1d7c7b8564c24c34f95dff403bac31f9",
                     "sha256": "b8e8c1806625bd727b29f38a1252ba21c8831b56d206b30f401353cf349182a8"},
        "code": {"commit": "c505b1e005790989387a0e3af9412e279693a753", "branch": "main",
                 "dirty": False},
        "environment": {"python": "3.11.7", "accelerators": [], "container": {"image": None},
                        "packages": {f"pkg{i}": f"1.{i}.0" for i in range(60)}, "env": {}},
        "seeds": {"torch": 42}, "params": {"lr": 0.001, "batch": 32, "model": {"layers": 16}},
        "metrics": {"loss": 0.000999, "acc": 0.999002, "eval/f1 macro": 1.0e-05},
        "parent": "19b9a93dbe0a74d4", "step": 999, "labels": ["baseline", "v1"],
        "notes": None, "owner": "Ada Trainer <ada@example.com>",
        "command": ["git", "ckpt", "save", "-n", "clf", "--step", "0"],
        "tensors": {"count": 2, "tensors": [{"name": "w", "dtype": "F32", "shape": [8, 8]},
                                            {"name": "b", "dtype": "F32", "shape": [8]}]},
    }
    doc.update(over)
    return doc


def _yaml_row(raw: bytes) -> dict[str, Any] | None:
    """The keys a row reads, as the bounded loader gives them from the WHOLE text."""
    try:
        full = sidecar.load(raw)
    except CkptError:
        return None
    return {k: v for k, v in full.items() if k in sidecar_keys.ROW_KEYS}


def _agrees(raw: bytes) -> dict[str, Any] | None:
    """The reader's answer, held to YAML's: None (ask YAML), or YAML's answer exactly
    (``repr`` tells 1 from 1.0 and True, which ``==`` does not), and the same index row."""
    fast = sidecar_keys.row_keys(raw)
    if fast is not None:
        assert repr(fast) == repr(_yaml_row(raw))
        assert repr(index._rows([(raw, "t", "c" * 40)])) == repr([index._summarize(
            (raw, "t", "c" * 40))])
    return fast


def test_the_form_ckptgit_writes_is_read_without_yaml() -> None:
    raw = sidecar.dump(_doc()).encode()
    got = _agrees(raw)
    assert got is not None and got["metrics"]["eval/f1 macro"] == 1.0e-05
    assert got["params"] == {"lr": 0.001, "batch": 32, "model": {"layers": 16}}
    assert got["labels"] == ["baseline", "v1"] and got["created_at"].endswith("Z")
    for over in ({"labels": [], "metrics": {}, "parent": None}, {"step": None},
                 {"params": {"a": "yes", "n": "1_000", "x": "0x1f", "when": "2026-01-01"}}):
        assert _agrees(sidecar.dump(_doc(**over)).encode()) is not None, over


HOSTILE_LINES = [
    "id: 0000000000000000", "name: evil", "'id': evil", '"id": evil', " id: evil",
    "  id: evil", "\tid: evil", "id:evil", "? id\n: evil", "--- ", "---", "...", "# comment",
    "%YAML 1.1", "metrics: &a {acc: 1}", "labels: *a", "params: !!python/object:os.system {}",
    "metrics: {acc: 1}", "  acc: !!float 1", "  - *a", "- evil", "id: evil\r", "\r",
    "name: 'unterminated", "notes: 'open\nid: evil'", "x: [1,\nid: evil]", "notes: |\n  text",
    "notes: >-\n  folded", "  loss: .nan", "  loss: 1_0.5", "  acc: 012", "  acc: 1:30",
    "step: 0b101", "created_at: 2026-01-01 00:00:00", "parent: ~", "parent:", "labels:\n-\n- x",
    "id: \u2028evil", "name: clf\u0085id: evil", "name: a\u2029b", "name: caf\u00e9",
    "name: \x01", "name: 'a\x7fb'", "name: " + "x" * 5000, "  md5: '" + "'" * 300 + "'",
    "env:\n" + "  " * 70 + "x: 1", "metrics:\n  acc:\n    a:\n      b: [[[[1]]]]",
    "null: x", "true: x", "<<: {id: evil}", "=: x", "id: 'ok'  # trailing", "id: ok ",
]


@PROPERTY
@given(st.lists(st.tuples(st.integers(0, 400), st.sampled_from(HOSTILE_LINES)), max_size=3),
       st.sampled_from(["\n", "\r\n"]))
def test_hostile_text_anywhere_is_left_to_yaml_or_read_as_yaml_reads_it(
        edits: list[tuple[int, str]], newline: str) -> None:
    lines = sidecar.dump(_doc()).split("\n")
    for at, line in edits:
        lines.insert(at % len(lines), line)
    _agrees(newline.join(lines).encode())


SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-2**70, 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(st.characters(codec="utf-8"), max_size=30),
    st.sampled_from(["yes", "No", "null", "~", "1e3", "0o7", "010", "-", "- x", "a: b",
                     "#x", "x #y", "'", "''", "a'b", "=", "<<", "2026-01-01", "1:20", ".5",
                     "-.inf", "1_000", "0b1", "true", "@x", "`x", "%x", "!x", "&a", "*a"]))
KEYS = st.one_of(st.text(st.characters(codec="ascii"), min_size=1, max_size=12), SCALARS)
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(KEYS, inner, max_size=3)), max_leaves=8)


@PROPERTY
@given(st.dictionaries(st.sampled_from(sorted(sidecar_keys.ROW_KEYS - {"schema_version"})
                                       + ["code", "notes", "environment"]), VALUES, max_size=5),
       st.dictionaries(KEYS, VALUES, max_size=4))
def test_every_value_the_dumper_writes_reads_as_yaml_reads_it(
        over: dict[str, Any], artifact: dict[Any, Any]) -> None:
    doc = _doc(**over)
    if artifact and isinstance(doc["artifact"], dict):
        doc["artifact"] = {**doc["artifact"], **artifact}
    try:
        raw = sidecar.dump(doc).encode()
    except (ValueError, TypeError):
        return
    _agrees(raw)


FORMS = ["2026-01-01", "2026-1-1", "yes", "On", "NULL", "Null", "~", "0o7", "010", "0x1F",
         "1_000", "1:30", ".5", "-.inf", ".NaN", "1.5e+3", "1.5E+3", "1.5e3", "+5", "-0", "-0.0",
         "1e3", "12345678901234567890123", "=", "<<", "'quoted'", "'it''s'", "''", '"dq"',
         "!!str 5", "&a 5", "*a", "[]", "{}", "[1]", "{a: 1}", "a b", "a  b", "a #b", "a:b",
         "-", "- x", "|", ">", "%x", "@x", "`x", "y", "n", "1.0", "3.11.7", "a/b", "(x)"]


@pytest.mark.parametrize("form", FORMS)
def test_every_scalar_form_in_every_row_key_reads_as_yaml_reads_it(form: str) -> None:
    text = sidecar.dump(_doc())
    for line in ("step: 999", "parent: 19b9a93dbe0a74d4", "name: clf", "  loss: 0.000999",
                 "  size: 90000689", "- baseline", "  lr: 0.001", "    layers: 16"):
        assert f"\n{line}\n" in text
        _agrees(text.replace(f"\n{line}\n", f"\n{_with(line, form)}\n", 1).encode())


def _with(line: str, form: str) -> str:
    head = line.split(": ")[0] + ": " if ": " in line else "- "
    return head + form


def test_bounds_are_yamls_to_enforce() -> None:
    flat = sidecar.dump(_doc(environment={"python": "3"}, tensors=None, command=None)).encode()
    assert sidecar_keys.row_keys(flat) is not None
    before = limits.active()
    try:
        limits.activate(limits.Limits(nesting_depth=2))
        assert sidecar_keys.row_keys(flat) is None  # only params.model is at depth 3
        assert _yaml_row(flat) is None
    finally:
        limits.activate(before)
    raw = sidecar.dump(_doc()).encode()
    before = limits.active()
    try:
        limits.activate(limits.Limits(nesting_depth=2))
        assert sidecar_keys.row_keys(raw) is None  # params.model is at depth 3
        assert _yaml_row(raw) is None
        limits.activate(limits.Limits(sidecar_bytes=len(raw) - 1))
        assert sidecar_keys.row_keys(raw) is None and _yaml_row(raw) is None
    finally:
        limits.activate(before)


@pytest.mark.parametrize("unread", [
    "environment:\n  python: &v 3.11\n  again: *v\n",   # an alias: refused by the loader
    "environment:\n  python: !!python/object:os.system {}\n",  # a tag the safe loader refuses
    "environment:\n  python: 'open\n",                   # a quote left open
    "environment:\n  python: [1,\n",                     # a flow collection left open
    "environment:\n" + "".join("  " * d + f"k{d}:\n" for d in range(1, 80)) + "  " * 80 + "x: 1\n",
])
def test_a_section_the_row_does_not_read_still_sends_a_bad_text_to_yaml(unread: str) -> None:
    text = sidecar.dump(_doc(environment=None)).replace("environment: null\n", unread)
    raw = text.encode()
    assert sidecar_keys.row_keys(raw) is None
    assert _yaml_row(raw) is None  # the whole text is refused: no row may come of it


def test_a_repeated_key_or_a_line_break_yaml_knows_is_left_to_yaml() -> None:
    text = sidecar.dump(_doc())
    for odd in (text + "id: 0000000000000000\n", text + "code: {}\n",
                text.replace("\n", "\r\n"), text.replace("notes: null\n", "notes: a\u2028id: b\n")):
        assert sidecar_keys.row_keys(odd.encode()) is None


@pytest.mark.parametrize("more", ["  again: &a 1\n  then: *a\n", "# note\n", "  - x\n",
                                  "  y: 'open\n", "\tz: 1\n", "  w: !!python/name:os.system\n"])
def test_a_remembered_entry_is_never_taken_for_a_longer_one(more: str) -> None:
    env = "environment:\n" + "".join(f"  pkg{i}: '1.{i}'\n" for i in range(60))
    text = sidecar.dump(_doc(environment=None))
    first = text.replace("environment: null\n", env)
    assert _agrees(first.encode()) is not None  # checked once, now remembered
    longer = text.replace("environment: null\n", env + more).encode()
    assert _agrees(longer) is None  # YAML's to read (a comment) or to refuse (the others)


@pytest.mark.parametrize("tail", [" ", "  ", "   lr: 5", "  loss: 5", " # c", " !!map", " &a",
                                  " {}", " []", " |", " >", "\t", " ~", " null", " x"])
def test_anything_after_the_key_of_a_mapping_entry_reads_as_yaml_reads_it(tail: str) -> None:
    text = sidecar.dump(_doc())
    for key in ("artifact", "params", "metrics"):
        assert f"\n{key}:\n" in text
        _agrees(text.replace(f"\n{key}:\n", f"\n{key}:{tail}\n", 1).encode())


def test_nesting_deeper_than_python_recursion_is_left_to_yaml() -> None:
    deep = "params:\n" + "".join("  " * d + f"k{d}:\n" for d in range(1, 1200)) + \
        "  " * 1200 + "x: 1\n"
    raw = sidecar.dump(_doc(params=None)).replace("params: null\n", deep).encode()
    before, limit = limits.active(), sys.getrecursionlimit()
    try:
        limits.activate(limits.Limits(nesting_depth=100_000))  # a repository may allow it
        assert len(raw) < limits.active().sidecar_bytes
        for recursion in (1000, 3000, 100_000):  # another library may have raised it
            sys.setrecursionlimit(recursion)
            assert sidecar_keys.row_keys(raw) is None  # libyaml refuses it: so do we
            assert _yaml_row(raw) is None
    finally:
        sys.setrecursionlimit(limit)
        limits.activate(before)


BYTES = ["'", '"', "#", "&", "*", "!", "|", ">", "-", "?", ":", " ", "\t", "\n", "\r", "{", "}",
         "[", "]", ",", "%", "@", "`", "~", "0", ".", "e", "+", "_", "=", "<<", "\\", "\u2028",
         "\x85", "\ufeff", "\x00", "\ud800", "name: evil\n", "\nid: evil", "  ", "\n  x: 1"]


def _whole(raw: bytes) -> str:
    """The whole text through the bounded loader: what ``show`` and ``verify`` read."""
    try:
        return repr(yamlsafe.load(raw, limits.active().nesting_depth))
    except (yamlsafe.YAMLError, ValueError, OverflowError, TypeError) as exc:
        return type(exc).__name__


@PROPERTY
@given(st.lists(st.tuples(st.integers(0, 10**6), st.sampled_from(BYTES)), min_size=1,
                max_size=4), st.booleans())
def test_a_character_anywhere_reads_as_the_whole_text_reads(
        edits: list[tuple[int, str]], big: bool) -> None:
    # a quote, a flow bracket, a line break or an indent anywhere: the fast reader defers or
    # agrees, and the sections parse (``_summarize``'s, for texts not in the written form)
    # is one parse of the whole
    env = {f"pkg{i}": f"1.{i}.0" for i in range(60 if big else 2)}
    text = sidecar.dump(_doc(environment={"packages": env}))
    for at, char in edits:
        at %= len(text) + 1
        text = text[:at] + char + text[at:]
    raw = text.encode("utf-8", "surrogatepass")
    _agrees(raw)
    try:
        sections = repr(yamlsafe.load_sections(raw, limits.active().nesting_depth))
    except (yamlsafe.YAMLError, ValueError, OverflowError, TypeError) as exc:
        sections = type(exc).__name__
    assert sections == _whole(raw)


def test_a_sidecar_of_an_older_schema_is_left_to_the_migration(
        monkeypatch: pytest.MonkeyPatch) -> None:
    raw = sidecar.dump(_doc()).encode()
    assert sidecar_keys.row_keys(raw) is not None
    monkeypatch.setattr(sidecar, "CURRENT_VERSION", 2)
    monkeypatch.setitem(sidecar.MIGRATIONS, 1, lambda doc: {**doc, "name": "migrated"})
    assert _yaml_row(raw) is not None and _yaml_row(raw)["name"] == "migrated"  # type: ignore[index]
    assert sidecar_keys.row_keys(raw) is None
