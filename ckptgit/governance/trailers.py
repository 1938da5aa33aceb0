"""Trailers of promotion, revert and lock tags: a pure format/parse pair with validation.

Values are one line without control characters, so a trailer can never smuggle in another
trailer (``Rationale: ok\\nApproved-By: ceo``) or a fake signature block.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from ckptgit.errors import UsageError

ACTION = "Ckpt-Action"
ID = "Ckpt-Id"
NAME = "Ckpt-Name"
STAGE = "Ckpt-Stage"
SEAL = "Ckpt-Seal"
RATIONALE = "Rationale"
APPROVED_BY = "Approved-By"
REVERTS = "Reverts"
IMPACT_WINDOW = "Impact-Window"
SANDBOX_REPORT = "Sandbox-Report"
OVERRIDE = "Override"
COMPANION = "Ckpt-Companion"
SIGNED_BY = "Signed-By"
REQUEST = "Ckpt-Request"  # the request id whose signed approvals this tag carries
REQUEST_COMMIT = "Ckpt-Request-Commit"  # the protected branch's commit they were verified at
EMERGENCY = "Emergency"  # "true": a responder's revert without approvals, to be ratified

ACTIONS = ("promote", "revert", "unassign", "deprecate", "lock", "unlock", "register")
# Every character some parser takes for a line break (Python's str.splitlines() breaks on
# \x1c-\x1e, \x85, U+2028 and U+2029 too) and every other control character: a value holding
# one could show one reader a trailer that git does not see.
_CONTROL = re.compile("[\x00-\x1f\x7f\x85\u2028\u2029]")
REPEATABLE = ("approved-by",)
_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9-]*$")
_PARAGRAPH = re.compile(r"\n[ \t]*\n")
_SEAL = re.compile(r"^sha256:[0-9a-f]{64}$")
_ID = re.compile(r"^[0-9a-f]{16}$")
_ISO = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})"
_WINDOW = re.compile(rf"^{_ISO}/{_ISO}$")


def check_value(key: str, value: str) -> str:
    """A trailer value: non-empty, one line, no control characters, no surrounding space."""
    if _CONTROL.search(value):
        raise UsageError(f"{key} must be one line without control characters")
    value = value.strip()
    if not value:
        raise UsageError(f"{key} must not be empty")
    if len(value) > 2000:
        raise UsageError(f"{key} is longer than 2000 characters")
    return value


@dataclass(frozen=True)
class Trailers:
    """Ordered ``(key, value)`` pairs; keys may repeat (``Approved-By``)."""

    items: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    def get(self, key: str) -> str | None:
        values = self._by_key.get(key.lower())
        return values[-1] if values else None

    def all(self, key: str) -> list[str]:
        return list(self._by_key.get(key.lower(), ()))

    def by_key(self) -> dict[str, list[str]]:
        """Values per LOWERCASED key (``get``'s answers without lowercasing each key asked)."""
        return self._by_key

    @cached_property
    def _by_key(self) -> dict[str, list[str]]:
        """Values per lowercased key, built once: ``history`` asks each event for a dozen
        keys (10,000 events spent 0.3 s rescanning every pair for each)."""
        index: dict[str, list[str]] = {}
        for k, v in self.items:
            index.setdefault(k.lower(), []).append(v)
        return index

    def to_dict(self) -> dict[str, str | list[str]]:
        out: dict[str, str | list[str]] = {}
        for k, v in self.items:
            if k == APPROVED_BY or k in out:
                prev = out.get(k)
                out[k] = [*(prev if isinstance(prev, list) else [prev] if prev else []), v]
            else:
                out[k] = v
        return out


def build(pairs: Iterable[tuple[str, str | None]]) -> Trailers:
    """Validated trailers; pairs whose value is None are left out."""
    items = []
    for key, value in pairs:
        if value is None:
            continue
        if not _KEY.match(key):
            raise UsageError(f"invalid trailer key {key!r}")
        items.append((key, check_value(key, value)))
    return Trailers(tuple(items))


def message(subject: str, trailers: Trailers) -> str:
    """A tag message: subject, blank line, trailer block (git's trailer syntax)."""
    subject = check_value("subject", subject)
    block = "".join(f"{k}: {v}\n" for k, v in trailers.items)
    return f"{subject}\n\n{block}"


def parse(body: str) -> Trailers:
    """Trailers of a message body (the message after its subject): its last paragraph, when
    every line of it is ``Key: value``; otherwise none.

    Lines are split on "\\n" only, as git does (``str.splitlines`` would also split on U+2028
    and friends and see trailers git does not). A last paragraph that mixes other lines in
    (continuations, comments, text) yields no trailers at all, where git might still find
    some: what this reads is never more than what ``git interpret-trailers --parse`` reads.
    """
    paragraphs = [p for p in _PARAGRAPH.split(body.strip("\n")) if p.strip(" \t\n")]
    if not paragraphs:
        return Trailers()
    items = []
    for line in paragraphs[-1].split("\n"):
        # ``Key: value``: the key is what comes before the first colon, the value the rest
        # without blanks around it (split, not a regex with groups: a third of `history`)
        key, colon, value = line.partition(":")
        if not colon or not _key_ok(key):
            return Trailers()
        items.append((key, value.strip(" \t")))
    return Trailers(tuple(items))


_SEEN_KEYS: dict[str, bool] = {}


def _key_ok(key: str) -> bool:
    ok = _SEEN_KEYS.get(key)
    if ok is None:
        ok = _KEY.match(key) is not None
        if len(_SEEN_KEYS) < 256:  # the usual dozen keys; a hostile tag's keys are not kept
            _SEEN_KEYS[key] = ok
    return ok


def parse_message(message: str) -> Trailers:
    """Trailers of a whole message: its first paragraph is the title, never trailers."""
    parts = _PARAGRAPH.split(message.strip("\n"), maxsplit=1)
    return parse(parts[1]) if len(parts) == 2 else Trailers()


def duplicates(trailers: Trailers) -> list[str]:
    """Keys given more than once (only Approved-By may repeat), compared case-insensitively."""
    seen: dict[str, int] = {}
    for key, _ in trailers.items:
        seen[key.lower()] = seen.get(key.lower(), 0) + 1
    return sorted(k for k, n in seen.items() if n > 1 and k not in REPEATABLE)


def problems(
    trailers: Trailers, action_expected: Sequence[str] = ACTIONS, approvals: int = 0
) -> list[str]:
    """What is missing or malformed in a ckpt tag's trailers (empty: well-formed)."""
    found = []
    action = trailers.get(ACTION)
    if action not in action_expected:
        found.append(f"{ACTION} is {action!r}, expected one of {', '.join(action_expected)}")
    rationale = trailers.get(RATIONALE)
    if not rationale or not rationale.strip():
        found.append(f"no {RATIONALE} trailer")
    for key, value in trailers.items:
        if _CONTROL.search(value):
            found.append(f"{key} holds a control character or line separator")
    found += [f"{key} is given more than once" for key in duplicates(trailers)]
    if action in ("promote", "revert", "unassign"):
        if not _ID.match(trailers.get(ID) or ""):
            found.append(f"{ID} missing or not a checkpoint id")
        seal = trailers.get(SEAL)
        if seal is not None and not _SEAL.match(seal):
            found.append(f"{SEAL} is not sha256:<64 hex>")
    if action == "revert":
        if not trailers.get(REVERTS):
            found.append(f"a revert needs a {REVERTS} trailer")
        window = trailers.get(IMPACT_WINDOW)
        if window is not None and not _WINDOW.match(window):
            found.append(f"{IMPACT_WINDOW} is not FROM/TO in ISO 8601")
    approvers = {a.strip().lower() for a in trailers.all(APPROVED_BY) if a.strip()}
    if len(approvers) < approvals:
        found.append(f"{len(approvers)} distinct {APPROVED_BY}, this stage needs {approvals}")
    return found


def check_window(window: str) -> str:
    window = check_value(IMPACT_WINDOW, window)
    if not _WINDOW.match(window):
        raise UsageError(f"--impact-window must be FROM/TO in ISO 8601 "
                         f"(e.g. 2024-05-01T10:00Z/2024-05-02T08:30Z), not {window!r}")
    return window
