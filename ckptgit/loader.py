"""The one loader of YAML and JSON documents, for user files and for what history holds.

Bounded before anything is built (``limits``): a document over its size is refused unread; an
alias or anchor is refused when the parser meets it (a 342-byte "billion laughs" is refused in
microseconds, never expanded); nesting deeper than the limit is refused while composing, so
neither the C parser's nor Python's stack can be exhausted. The scanner and parser are
libyaml's (fast); nodes are composed here, depth-counted, then built by the safe constructor.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.events import AliasEvent, CollectionStartEvent, NodeEvent

from ckptgit import limits
from ckptgit.errors import UsageError

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class LimitError(UsageError):
    """A document over one of the limits: too big, aliased or too deep."""


class _Refusal(yaml.YAMLError):
    pass


class _BoundedLoader(_Base):  # type: ignore[misc]
    """libyaml's events, composed by PyYAML's Composer with aliases refused and depth counted."""

    max_depth = limits.DEFAULT.nesting_depth

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self.anchors: dict[Any, Any] = {}
        self._depth = 0

    get_single_node = Composer.get_single_node
    compose_document = Composer.compose_document
    compose_scalar_node = Composer.compose_scalar_node
    compose_sequence_node = Composer.compose_sequence_node
    compose_mapping_node = Composer.compose_mapping_node

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, AliasEvent) or (isinstance(event, NodeEvent) and event.anchor):
            raise _Refusal(_where(event, "holds a YAML alias or anchor (refused: aliases can "
                                         "expand without bound; write the values out)"))
        nested = isinstance(event, CollectionStartEvent)
        self._depth += nested
        try:
            if self._depth > self.max_depth:
                raise _Refusal(_where(event, f"is nested deeper than {self.max_depth} levels "
                                             "(limits.nesting_depth)"))
            return Composer.compose_node(self, parent, index)
        finally:
            self._depth -= nested


class _FastLoader(_Base):  # type: ignore[misc]
    """libyaml composing by itself, for text that cannot hold an alias or anchor.

    libyaml refuses nesting over 1,000 levels while parsing, so composing and building stay
    bounded; the depth limit is then checked on the result. About 30 % faster than composing
    in Python, which matters when verify reads every sidecar in history.
    """

    max_depth = limits.DEFAULT.nesting_depth


def _plain(text: bytes | str) -> bool:
    """No ``&`` and no ``*`` anywhere: no anchor or alias can be in it."""
    if isinstance(text, bytes):
        return b"&" not in text and b"*" not in text
    return "&" not in text and "*" not in text


def _where(event: Any, text: str) -> str:
    mark = getattr(event, "start_mark", None)
    return f"{text} at line {mark.line + 1}" if mark is not None else text


def load_yaml(text: bytes | str, what: str, max_bytes: int | None = None) -> Any:
    """One YAML document within the limits; anything else is one clear ``UsageError`` line."""
    bound = limits.active()
    _check_size(text, what, max_bytes or bound.sidecar_bytes)
    loader = _FastLoader(text) if _plain(text) else _BoundedLoader(text)
    loader.max_depth = bound.nesting_depth
    try:
        data = loader.get_single_data()
        check_depth(data, what)
        return data
    except _Refusal as exc:
        raise LimitError(f"{what} {exc}") from exc
    except yaml.YAMLError as exc:
        if "maximum nesting depth" in str(exc):  # libyaml's own cap, below ours
            raise LimitError(f"{what} is nested deeper than {bound.nesting_depth} levels "
                             "(limits.nesting_depth)") from exc
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or exc
        raise UsageError(f"{what} is not valid YAML{where}: {problem}") from exc
    except (ValueError, OverflowError, TypeError) as exc:  # e.g. a timestamp out of range
        raise UsageError(f"{what} is not valid YAML: {exc}") from exc
    finally:
        loader.dispose()


def load_json(raw: bytes | str, what: str, max_bytes: int | None = None) -> Any:
    bound = limits.active()
    _check_size(raw, what, max_bytes or bound.values_bytes)
    try:
        data = json.loads(raw)
    except RecursionError as exc:
        raise LimitError(f"{what} is nested deeper than {bound.nesting_depth} levels "
                         "(limits.nesting_depth)") from exc
    except ValueError as exc:
        raise UsageError(f"{what} is not valid JSON: {exc}") from exc
    check_depth(data, what)
    return data


def check_depth(data: Any, what: str) -> None:
    """Refuse values nested deeper than the limit, without recursing (no RecursionError)."""
    bound = limits.active().nesting_depth
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > bound:
                raise LimitError(f"{what} is nested deeper than {bound} levels "
                                 "(limits.nesting_depth)")
            children = value.values() if isinstance(value, dict) else value
            stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))


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
