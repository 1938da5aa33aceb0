"""``yamlsafe.load_sections`` (verify's cold parse) answers exactly what ``load`` answers.

The hostile cases come first: texts where cutting before a column-0 ``key:`` line would change
the meaning if the cut were trusted (an open quote or flow collection, document markers, other
line breaks, aliases, depth), then a differential property over texts built from such lines.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ckptgit import sidecar, yamlsafe

BIG = b"environment:\n  packages:\n" + b"".join(
    b"    pkg-%03d: 1.%d.0\n" % (i, i) for i in range(80))  # over SECTION_MEMO_FROM


def outcome(fn: Any, text: bytes) -> tuple[str, Any]:
    try:
        return "ok", fn(text)
    except Exception as exc:  # noqa: BLE001 - the type and message must agree too
        return type(exc).__name__, str(exc)


def shared(text: bytes) -> Any:
    return yamlsafe.load_sections(text, shared=True)


def same(text: bytes) -> None:
    whole = outcome(yamlsafe.load, text)
    for fn in (yamlsafe.load_sections, shared):  # shared: small entries remembered as well
        parts = outcome(fn, text)
        assert parts == whole, text
        if whole[0] == "ok" and isinstance(whole[1], dict):
            assert list(parts[1]) == list(whole[1])  # key order too


def test_characters_that_share_a_break_s_lead_byte_are_no_break() -> None:
    text = "notes: \u2014 \u00a0 \u2027\n".encode() + BIG
    assert yamlsafe._sections(text) is not None
    same(text)


def test_the_big_section_is_big() -> None:
    assert len(BIG) >= yamlsafe.SECTION_MEMO_FROM
    parts = yamlsafe._sections(b"id: x\n" + BIG + b"step: 1\nparent: null\n")
    assert parts is not None
    assert [big for _, big in parts] == [False, True, False, False]


HOSTILE = [
    b'notes: "open\nstep: 2"\n',  # a double quote across a key line
    b"notes: 'open\nstep: 2'\n",  # a single quote across a key line
    b"metrics: {a: 1,\nstep: 2}\n",  # a flow mapping across a key line
    b"labels: [a,\nstep]\n",  # a flow sequence across a key line
    b"step: 1\nstep: 2\n",  # a key twice: the last wins, where the first stood
    b"notes: |\n  text\nstep: 3\n",  # a block scalar ends at column 0
    b"notes: >\nstep: 3\n",
    b"notes: plain\nstep: 3\n",
    b"a: 1\n---\nb: 2\n",  # a second document
    b"a: 1\n...\n",
    b"a: 1\r---\rb: 2\n",  # a break \n does not show
    "a: 1\u2028b: 2\n".encode(),
    "a: 1\u2029b: 2\n".encode(),
    "a: 1\u0085b: 2\n".encode(),
    "notes: \u2014\u00a0\u2029x\n".encode(),  # the lead bytes in other characters first
    b"a: 1\n\tb: 2\n",
    b"a: &x 1\nb: *x\n",  # aliases: refused
    b"a: 1\n# comment\nb: 2\n",
    b"%YAML 1.1\n---\na: 1\n",
    b"\xef\xbb\xbfa: 1\n",  # a byte-order mark
    b"null: 1\ntrue: 2\n",  # keys resolved as the parser resolves them
    b"a: 1\n- x\n",
    b"a:\n- x\n- y\nb: 2\n",
    b"a: 2001-02-30\n",  # not a date: ValueError from the constructor
    b"a: " + b"[" * 70 + b"]" * 70 + b"\n",  # over the depth
    b"- 1\n- 2\n",  # not a mapping
    b"",
]


@pytest.mark.parametrize("middle", HOSTILE)
@pytest.mark.parametrize("where", ["before", "after", "alone"])
def test_hostile_texts_load_as_a_whole_parse_loads_them(middle: bytes, where: str) -> None:
    text = {"before": BIG + middle, "after": middle + BIG, "alone": middle}[where]
    same(text)
    same(text)  # second time from the memo


@pytest.mark.parametrize("text", [
    b"a: 1\n" + BIG + b"a: 2\n",  # a key on both sides of a big section
    b"environment: 1\n" + BIG,  # a small key that the big section gives again
    BIG + b"environment: 1\n",
    BIG + BIG,  # the big section twice
    b"a: 1\n" + BIG + b"b: 2\n" + BIG.replace(b"environment", b"tensors") + b"c: 3\n",
    b'a: "x\n' + BIG + b'b: 2"\n',  # a quote reaching over a big section
])
def test_pieces_that_do_not_add_up_are_parsed_whole(text: bytes) -> None:
    same(text)
    same(text)


@pytest.mark.parametrize(("first", "then"), [
    # an entry remembered from one document, then closing a quote or a flow collection that
    # an entry before it opened: parsed alone it reads as before, in place it does not
    (b'step: 2"\n', b'notes: "open\nstep: 2"\n'),
    (b"step: 2'\n", b"notes: 'open\nstep: 2'\n"),
    (b'step: 2"\n', b'notes: "open\nstep: 2"\nx: y"\n'),  # and another after it
    (b"step: 2}\n", b"metrics: {a: 1,\nstep: 2}\n"),
    (b"step: x]\n", b"labels: [a,\nstep: x]\n"),
    (b"step: 1\n", b"step: 1\nstep: 1\n"),  # remembered, then given twice
    (b"step: 1\n", b"notes: |\n  a\nstep: 1\n"),
    (b"a: 1\n", b"a: 1\nb: *x\n"),  # a remembered entry beside an alias
    (b"a: 1\n", b"b: &x 2\na: 1\n"),
])
def test_a_remembered_small_entry_in_another_document_reads_as_load_reads_it(
        first: bytes, then: bytes) -> None:
    for where in ("before", "after"):
        around = (lambda t: BIG + t) if where == "before" else (lambda t: t + BIG)
        same(around(first))  # remembered
        same(around(then))
        same(then)


def test_a_shared_reader_checks_and_keeps_without_changing_the_next_parse() -> None:
    from ckptgit.integrity import parsecache

    doc = {"schema_version": 1, "id": "x", "code": {"commit": "c" * 40, "branch": "main"},
           "environment": {"packages": {f"p{i}": f"1.{i}" for i in range(100)}}}
    text = sidecar.dump(doc).encode()
    for _ in range(3):
        kept = sidecar._check_kept(parsecache.reduced, True, text).doc
        assert kept == parsecache.reduced(sidecar.load(text))
        kept["code"]["commit"] = "poisoned"
        kept["injected"] = True
    assert sidecar.load(text, sections=True, shared=True) == sidecar.load(text)


def test_a_caller_changing_a_result_does_not_change_the_next() -> None:
    text = b"id: a\n" + BIG
    first = yamlsafe.load_sections(text)
    first["environment"]["packages"]["pkg-000"] = "poisoned"
    first["environment"]["injected"] = True
    assert yamlsafe.load_sections(text) == yamlsafe.load(text)


def test_an_alias_inside_a_big_section_is_refused_every_time() -> None:
    text = b"id: a\n" + BIG + b"  evil: &a [1]\n  again: *a\n"
    for _ in range(2):
        with pytest.raises(yamlsafe.Refused):
            yamlsafe.load_sections(text)


LINES = st.sampled_from([
    b"a: 1", b"b: x", b"step: 2", b"notes: |", b"notes: >-", b"  indented: 1", b"  - item",
    b"- item", b"", b"  ", b'q: "open', b'  close"', b"q: 'open", b"  close'", b"f: {x: 1,",
    b"  y: 2}", b"g: [1,", b"h: 3]", b"---", b"...", b"# c", b"k: v # c", b"\tt: 1",
    b"a: &r 1", b"b: *r", b"n:", b"x:y", b"key with space: 1", b"Upper: 1", b"a: 1\rb: 2",
    b"z: 2001-02-30", b"  deep: [[[[1]]]]", b"? k", b": v",
])


@settings(max_examples=300, deadline=None)
@given(st.lists(LINES, max_size=12), st.integers(0, 12))
def test_any_text_loads_as_a_whole_parse_loads_it(lines: list[bytes], at: int) -> None:
    lines = [*lines]
    lines.insert(min(at, len(lines)), BIG.rstrip(b"\n"))
    same(b"\n".join(lines) + b"\n")


def test_check_reads_a_saved_sidecar_as_load_does(tmp_path: Any) -> None:
    doc = {"schema_version": 1, "id": "x", "environment": {"packages": {
        f"p{i}": f"1.{i}" for i in range(100)}}, "notes": "two\nlines"}
    text = sidecar.dump(doc).encode()
    assert yamlsafe._sections(text) is not None
    for _ in range(2):
        assert sidecar.check(text).doc == sidecar.load(text)
