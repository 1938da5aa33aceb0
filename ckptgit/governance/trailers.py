"""Trailers of promotion, revert and lock tags: a pure format/parse pair with validation.

Values are one line without control characters, so a trailer can never smuggle in another
trailer (``Rationale: ok\\nApproved-By: ceo``) or a fake signature block.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

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
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9-]*$")
_LINE = re.compile(r"^(?P<key>[A-Za-z][A-Za-z0-9-]*):[ \t]*(?P<value>.*)$")
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
        values = self.all(key)
        return values[-1] if values else None

    def all(self, key: str) -> list[str]:
        low = key.lower()
        return [v for k, v in self.items if k.lower() == low]

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
    """Trailers of a message body: its last paragraph, when every line is ``Key: value``.

    The same rule ``git interpret-trailers --parse`` applies to our messages, done in Python
    so that reading a thousand tags costs no process per tag.
    """
    paragraphs = [p for p in re.split(r"\n[ \t]*\n", body.strip("\n")) if p.strip()]
    if not paragraphs:
        return Trailers()
    items = []
    for line in paragraphs[-1].splitlines():
        m = _LINE.match(line)
        if m is None:
            return Trailers()
        items.append((m["key"], m["value"].strip()))
    return Trailers(tuple(items))


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
            found.append(f"{key} holds control characters")
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
