"""Which tag names our hooks govern, and whether a governed name is one we accept.

GTO reads far more forms than ``git ckpt`` writes: ``NAME@vX.Y.Z``, ``NAME#STAGE``,
``NAME#STAGE#N``, ``NAME#STAGE!``, ``NAME#STAGE!#N``, ``NAME@deprecated``,
``NAME@deprecated#N``, ``NAME@created``, with a ``DIR=`` prefix and odd counters. Any one
of them, unsigned, would make ``gto show`` serve a model nobody approved, so every name GTO's
grammar matches *in any letter case*, every name under a known artifact, and every
``ckpt/`` lock name is governed. A governed name is accepted only in the exact lowercase
form ``git ckpt`` writes (``tags.parse``/``tags.parse_lock``); anything else is refused with
the reason.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from ckptgit import tags

# GTO's tag grammar (gto/constants.py ``tag_re``), loosened: compared case-folded, with any
# counter digits, so ``CLF#Prod#01`` is governed even though only ``clf#prod#1`` is accepted.
_GTO_NAME = r"[a-z0-9]([a-z0-9-/]*[a-z0-9])?"
_GTO_SEMVER = r"\d+\.\d+\.\d+(?:-[0-9a-z.-]+)?(?:\+[0-9a-z.-]+)?"
_GTO_TAG = re.compile(
    rf"^(?:[a-z0-9-_./]+=)?{_GTO_NAME}"
    rf"(?:(?:#{_GTO_NAME}|@v{_GTO_SEMVER})!?|@(?:deprecated|created))(?:#[0-9]+)?$"
)
_SEPARATORS = re.compile(r"[#@!]")


def artifact_of(ref: str) -> str:
    """The artifact part of a tag name: everything before its first ``#``, ``@`` or ``!``."""
    return _SEPARATORS.split(ref, maxsplit=1)[0]


def governed(ref: str, names: Collection[str] = ()) -> bool:
    """Whether ``ref`` (a short tag name) is one GTO or we would read as a decision;
    ``names`` are known artifact names, case-folded."""
    folded = ref.casefold()
    if folded.startswith(tags.LOCK_PREFIX) or _GTO_TAG.match(folded):
        return True
    if not names or not _SEPARATORS.search(ref):
        return False
    return artifact_of(folded).split("=")[-1] in names


def problem(ref: str) -> str | None:
    """Why a governed name is refused, or None when it is a form ``git ckpt`` writes."""
    if tags.parse(ref) is not None or tags.parse_lock(ref) is not None:
        return _counter_problem(ref)
    folded = ref.casefold()
    if folded != ref and (tags.parse(folded) or tags.parse_lock(folded)):
        return "governed tag names are lowercase (GTO and git ckpt read them case-folded)"
    if folded.startswith(tags.LOCK_PREFIX):
        return "not a lock form (ckpt/lock/STAGE/N or ckpt/unlock/STAGE/N)"
    return ("not a form git ckpt writes (NAME#STAGE#N, NAME#STAGE!#N, NAME@deprecated#N, "
            "NAME@vX.Y.Z): GTO would read it, so it is refused")


def _counter_problem(ref: str) -> str | None:
    """Counters are positive integers without leading zeros (GTO reads ``#01`` as 1)."""
    counter = ref.rsplit("#", 1)[-1] if "#" in ref else ref.rsplit("/", 1)[-1]
    if not counter.isdigit():
        return None
    if counter.startswith("0"):
        return f"counter {counter!r} must be a positive integer without leading zeros"
    return None
