"""Tag names in GTO's grammar, as a pure format/parse pair.

``NAME#STAGE#N`` assigns STAGE, ``NAME#STAGE!#N`` unassigns it, ``NAME@vX.Y.Z`` registers a
version, ``NAME@deprecated#N`` deprecates NAME. N is a counter per artifact name, shared by all
stages.

A counter is at most 18 ASCII digits (it fits an int64): a longer one, or one written in
other scripts' digits, makes the tag not one of ours, so the verifier refuses a governed name in
that form as unknown instead of failing to read it (Python refuses int() of over 4,300 digits).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NAME = r"[a-z0-9][a-z0-9._-]*"
_STAGE = r"[a-z0-9][a-z0-9_-]*"
_COUNTER = r"[0-9]{1,18}"
TAG_RE = re.compile(
    rf"^(?P<name>{_NAME})(?:"
    rf"#(?P<stage>{_STAGE})(?P<unassign>!?)#(?P<number>{_COUNTER})"
    rf"|@(?P<version>v\d+\.\d+\.\d+)(?P<deregister>!?)"
    rf"|@deprecated#(?P<dep_number>{_COUNTER})"
    rf")$"
)


@dataclass(frozen=True)
class TagName:
    name: str
    kind: str  # assign | unassign | register | deregister | deprecate
    stage: str | None = None
    number: int | None = None
    version: str | None = None


def parse(tag: str) -> TagName | None:
    m = TAG_RE.match(tag)
    if not m:
        return None
    if m["stage"]:
        kind = "unassign" if m["unassign"] else "assign"
        return TagName(m["name"], kind, stage=m["stage"], number=int(m["number"]))
    if m["version"]:
        kind = "deregister" if m["deregister"] else "register"
        return TagName(m["name"], kind, version=m["version"])
    return TagName(m["name"], "deprecate", number=int(m["dep_number"]))


def assignment(name: str, stage: str, number: int) -> str:
    return f"{name}#{stage}#{number}"


def unassignment(name: str, stage: str, number: int) -> str:
    return f"{name}#{stage}!#{number}"


def deprecation(name: str, number: int) -> str:
    return f"{name}@deprecated#{number}"


def is_stage_name(stage: str) -> bool:
    return re.fullmatch(_STAGE, stage) is not None


def version(name: str, ver: str) -> str:
    return f"{name}@{ver}"


# Stage locks are not GTO events, so they live under their own prefix that GTO's grammar
# never matches: ``ckpt/lock/STAGE/N`` and ``ckpt/unlock/STAGE/N``, N counted per stage.
LOCK_PREFIX = "ckpt/"
LOCK_RE = re.compile(rf"^ckpt/(?P<kind>lock|unlock)/(?P<stage>{_STAGE})/(?P<number>{_COUNTER})$")


@dataclass(frozen=True)
class LockTag:
    kind: str  # lock | unlock
    stage: str
    number: int


def parse_lock(tag: str) -> LockTag | None:
    m = LOCK_RE.match(tag)
    return LockTag(m["kind"], m["stage"], int(m["number"])) if m else None


def lock(kind: str, stage: str, number: int) -> str:
    return f"ckpt/{kind}/{stage}/{number}"


def next_number(existing: list[str], name: str) -> int:
    """The next GTO counter for ``name``: one more than any event tag of that name."""
    numbers = [p.number for t in existing if (p := parse(t)) is not None
               and p.name == name and p.number is not None]
    return max(numbers, default=0) + 1


def next_lock_number(existing: list[str], stage: str) -> int:
    numbers = [p.number for t in existing if (p := parse_lock(t)) is not None
               and p.stage == stage]
    return max(numbers, default=0) + 1


_GTO_NAME = re.compile(r"^[a-z0-9]([a-z0-9_-]*[a-z0-9])?$")


def gto_readable(name: str) -> bool:
    """Whether GTO's own name grammar accepts ``name`` (ours also allows '.')."""
    return _GTO_NAME.match(name) is not None
