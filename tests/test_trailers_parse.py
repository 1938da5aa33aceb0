"""Trailer parsing split by hand reads exactly what the line grammar ``Key: value`` reads."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from ckptgit.governance import trailers as tr

LINE = re.compile(r"^(?P<key>[A-Za-z][A-Za-z0-9-]*):[ \t]*(?P<value>.*)$")


def reference(body: str) -> tuple[tuple[str, str], ...]:
    """The grammar as a regular expression (how trailers were parsed before)."""
    paragraphs = [p for p in re.split(r"\n[ \t]*\n", body.strip("\n")) if p.strip(" \t\n")]
    if not paragraphs:
        return ()
    items = []
    for line in paragraphs[-1].split("\n"):
        m = LINE.match(line)
        if m is None:
            return ()
        items.append((m["key"], m["value"].strip(" \t")))
    return tuple(items)


HOSTILE = [
    "Ckpt-Id: abc\nRationale: ok", "Key:value", "Key :v", " Key: v", "Key: v\n Key2: w",
    "1Key: v", "Ke_y: v", "Key-: v", "K:", "K: \t", "K: a:b:c", "K: v\r\nL: w", "K\u00e9: v",
    "K: v\u2028L: w", "Approved-By: a\nApproved-By: b", "text\n\nK: v", "K: v\n\ntext",
    "K: v\x00", ":", "", "\n\n", "K\n: v", "K: v\n\t\nL: w",
]


def test_hostile_bodies_parse_as_the_grammar_says() -> None:
    for body in HOSTILE:
        assert tr.parse(body).items == reference(body), body


PIECES = st.sampled_from(["Key", "Ckpt-Id", "a", "A-1", "1", "-", "_", ":", ": ", " ", "\t",
                          "\n", "\n\n", "\r", "value", "\u2028", "\u00e9", "x:y", "\x00"])


@settings(max_examples=500, deadline=None)
@given(st.lists(PIECES, max_size=16))
def test_any_body_parses_as_the_grammar_says(pieces: list[str]) -> None:
    body = "".join(pieces)
    assert tr.parse(body).items == reference(body)


def test_many_distinct_keys_do_not_grow_the_key_memo_without_bound() -> None:
    for i in range(1000):
        tr.parse(f"K{i}x: v")
    assert len(tr._SEEN_KEYS) <= 256
