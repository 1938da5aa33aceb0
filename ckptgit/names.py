"""Rules for user-chosen names and labels, shared by every command that takes one."""

from __future__ import annotations

import re

from ckptgit.errors import UsageError

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_name(name: str) -> str:
    if not NAME_RE.match(name) or len(name) > 128 or ".." in name or name.endswith((".", ".lock")):
        raise UsageError(
            f"invalid checkpoint name {name!r}: use lowercase letters, digits, '.', '_' or '-', "
            "starting with a letter or digit (e.g. 'clf' or 'bert-base')"
        )
    return name


def check_text(value: str, what: str) -> str:
    """Free text that ends up in a commit trailer or tag: one line, no control characters."""
    if _CONTROL.search(value):
        raise UsageError(f"{what} must be one line without control characters")
    return value
