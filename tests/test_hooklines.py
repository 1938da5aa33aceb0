"""The lines git gives push hooks: read on single spaces, and any other line refused."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ckptgit import hooklines

OLD, NEW = "0" * 40, "a" * 40


def test_a_ref_name_with_unicode_whitespace_is_one_field() -> None:
    for odd in ("\xa0", "\u2028", "\x85", "\u3000", "\u2029"):
        line = f"{OLD} {NEW} refs/heads/a{odd}b"
        assert hooklines.received([line]) == [hooklines.Received(OLD, NEW, f"refs/heads/a{odd}b")]
        assert hooklines.split_lines(line + "\n") == [line]
        assert hooklines.unreadable("pre-receive", [line]) == []


def test_lines_in_neither_form_are_refused_not_skipped() -> None:
    bad = [f"{OLD} {NEW}", f"{OLD}  {NEW} refs/heads/x", f"{OLD} {NEW} refs/heads/x extra",
           f"{OLD}\t{NEW}\trefs/heads/x"]
    assert len(hooklines.unreadable("pre-receive", bad)) == len(bad)
    assert hooklines.received(bad) == []
    push = f"refs/heads/x {NEW} refs/heads/x {OLD}"
    assert hooklines.unreadable("pre-push", [push, push + " more"]) != []
    assert hooklines.pushed([push]) == [push.split(" ")]
    assert hooklines.unreadable("pre-commit", bad) == []


@given(st.text(alphabet=st.characters(blacklist_characters=" \n\0"), min_size=1))
def test_any_ref_name_reads_back_whole(name: str) -> None:
    line = f"{OLD} {NEW} refs/heads/{name}"
    assert hooklines.split_lines(f"{line}\n{line}\n") == [line, line]
    assert [u.ref for u in hooklines.received([line])] == [f"refs/heads/{name}"]
