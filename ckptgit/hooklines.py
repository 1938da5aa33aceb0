"""The lines git writes on a push hook's stdin, read exactly.

pre-push gets ``<local ref> SP <local sha> SP <remote ref> SP <remote sha>``, pre-receive
``<old sha> SP <new sha> SP <ref>``, one space between fields. A ref name may hold characters
that Python's ``str.split()`` takes for whitespace and ``str.splitlines()`` for line breaks
(NBSP, U+0085, U+2028 …; git refuses only ASCII controls and spaces). Read with those, such a
line fell apart or was skipped, and the ref it named went unchecked: a branch named with a
NBSP carried forged saves past the server. So fields are split on the one space only, and a
line in neither form is a problem the hook reports, never one it skips.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

ZERO_CHARS = frozenset("0")
_FIELDS = {"pre-push": 4, "pre-receive": 3}


@dataclass(frozen=True)
class Received:
    """One line of pre-receive's stdin: the server's ref ``ref`` moves from ``old`` to ``new``
    (all zeros: created or deleted)."""

    old: str
    new: str
    ref: str

    @property
    def deleted(self) -> bool:
        return set(self.new) == ZERO_CHARS

    @property
    def created(self) -> bool:
        return set(self.old) == ZERO_CHARS


def split_lines(text: str) -> list[str]:
    """The non-empty lines of a hook's stdin, broken at newlines only."""
    return [ln for ln in text.split("\n") if ln]


def fields(line: str, count: int) -> list[str] | None:
    """The ``count`` fields of ``line``, or None when it is not in git's form."""
    parts = line.split(" ")
    return parts if len(parts) == count and all(parts) else None


def received(lines: Iterable[str]) -> list[Received]:
    """Every well-formed pre-receive line (``unreadable`` names the others)."""
    return [Received(*p) for p in (fields(ln, 3) for ln in lines) if p is not None]


def pushed(lines: Iterable[str]) -> list[list[str]]:
    """Every well-formed pre-push line as its four fields."""
    return [p for p in (fields(ln, 4) for ln in lines) if p is not None]


def unreadable(hook: str, lines: Sequence[str]) -> list[str]:
    """A problem for each line of a push hook's stdin in neither of git's forms."""
    count = _FIELDS.get(hook)
    if count is None:
        return []
    return [f"cannot read the ref update {ln[:120]!r} git gave the hook; refusing the push"
            for ln in lines if fields(ln, count) is None]
