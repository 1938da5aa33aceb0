"""The one loader of YAML and JSON documents, for user files and for what history holds.

Bounded before anything is built (``limits``): a document over its size is refused unread; an
alias or anchor, or nesting over the depth, is refused by ``yamlsafe`` while parsing. Every
refusal is one ``UsageError`` line naming the limit (``LimitError``); callers reading history
turn it into an integrity finding naming the commit.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

from ckptgit import limits
from ckptgit.errors import UsageError


class LimitError(UsageError):
    """A document over one of the limits: too big, aliased or too deep."""


def load_yaml(text: bytes | str, what: str, max_bytes: int | None = None,
              sections: bool = False, shared: bool = False) -> Any:
    """One YAML document within the limits; anything else is one clear ``UsageError`` line.

    ``sections``: big top-level entries seen before in this process are not parsed again
    (``yamlsafe.load_sections``: same result, same errors; for reading many sidecars);
    ``shared``: those entries are not copied, for a caller that only reads them."""
    from ckptgit import yamlsafe  # importing PyYAML is a third of what `history` loads

    bound = limits.active()
    _check_size(text, what, max_bytes or bound.sidecar_bytes)
    try:
        if sections and isinstance(text, bytes):
            return yamlsafe.load_sections(text, bound.nesting_depth, shared)
        return yamlsafe.load(text, bound.nesting_depth)
    except yamlsafe.Refused as exc:
        raise LimitError(f"{what} {exc}") from exc
    except yamlsafe.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or exc
        raise UsageError(f"{what} is not valid YAML{where}: {problem}") from exc
    except (ValueError, OverflowError, TypeError) as exc:  # e.g. a timestamp out of range
        raise UsageError(f"{what} is not valid YAML: {exc}") from exc


def load_json(raw: bytes | str, what: str, max_bytes: int | None = None) -> Any:
    from ckptgit import yamlsafe

    bound = limits.active()
    _check_size(raw, what, max_bytes or bound.values_bytes)
    too_deep = LimitError(f"{what} is nested deeper than {bound.nesting_depth} levels "
                          "(limits.nesting_depth)")
    try:
        data = json.loads(raw)
    except RecursionError as exc:
        raise too_deep from exc
    except ValueError as exc:
        raise UsageError(f"{what} is not valid JSON: {exc}") from exc
    if yamlsafe.too_deep(data, bound.nesting_depth):
        raise too_deep
    return data


def _check_size(text: bytes | str, what: str, max_bytes: int) -> None:
    size = len(text) if isinstance(text, bytes) else len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise LimitError(f"{what} is {size:,} bytes, over the limit of {max_bytes:,} "
                         "(limits in .ckpt/config.yaml; store large results as a companion "
                         "with --with)")


def read_file(path: Path, what: str, max_bytes: int) -> bytes:
    """A user's file, read only if it is a regular file within ``max_bytes``.

    Opened non-blocking and checked with ``fstat`` first: a FIFO or device named as a metrics
    file is refused at once instead of blocking (or streaming without end).
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError as exc:
        raise UsageError(f"{what} {path} does not exist") from exc
    except OSError as exc:
        raise UsageError(f"{what} {path} cannot be read: {exc.strerror}") from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UsageError(f"{what} {path} is not a regular file")
        if st.st_size > max_bytes:
            raise LimitError(f"{what} {path} is {st.st_size:,} bytes, over the limit of "
                             f"{max_bytes:,} (limits in .ckpt/config.yaml; store large results "
                             "as a companion with --with)")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            return fh.read(max_bytes + 1)
    finally:
        os.close(fd)
