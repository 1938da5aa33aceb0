"""The ONE YAML choice: PyYAML's safe loader and dumper, the C (libyaml) ones when present.

Every YAML ckptgit reads (sidecars, DVC pointers, manifests, config) goes through ``load``, so
no file can build Python objects and every reader parses at the same speed. ``load`` is also
bounded before anything is built: an alias or anchor is refused when the parser meets it (a
342-byte "billion laughs" is refused in microseconds, never expanded), and nesting deeper than
``max_depth`` is refused while composing, so neither libyaml's stack nor Python's is exhausted.
Sizes and messages are ``loader``'s business (``ckptgit/loader.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.events import AliasEvent, CollectionStartEvent, NodeEvent

Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
YAMLError = yaml.YAMLError
DEPTH = 64


class Refused(yaml.YAMLError):
    """An alias, an anchor, or nesting over the depth: refused, never built."""


class _Bounded(Loader):  # type: ignore[misc,valid-type]
    """libyaml's events, composed by PyYAML's Composer with aliases refused and depth counted."""

    def __init__(self, stream: Any, max_depth: int) -> None:
        super().__init__(stream)
        self.anchors: dict[Any, Any] = {}
        self._depth, self.max_depth = 0, max_depth

    get_single_node = Composer.get_single_node
    compose_document = Composer.compose_document
    compose_scalar_node = Composer.compose_scalar_node
    compose_sequence_node = Composer.compose_sequence_node
    compose_mapping_node = Composer.compose_mapping_node

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, AliasEvent) or (isinstance(event, NodeEvent) and event.anchor):
            raise Refused(_where(event, "holds a YAML alias or anchor (refused: aliases can "
                                        "expand without bound; write the values out)"))
        nested = isinstance(event, CollectionStartEvent)
        self._depth += nested
        try:
            if self._depth > self.max_depth:
                raise Refused(_where(event, _too_deep(self.max_depth)))
            return Composer.compose_node(self, parent, index)
        finally:
            self._depth -= nested


def _where(event: Any, text: str) -> str:
    mark = getattr(event, "start_mark", None)
    return f"{text} at line {mark.line + 1}" if mark is not None else text


def _too_deep(depth: int) -> str:
    return f"is nested deeper than {depth} levels (limits.nesting_depth)"


def load(text: bytes | str, max_depth: int = DEPTH) -> Any:
    """One document, safely and bounded; raises ``YAMLError`` (``Refused`` for the bounds).

    Text without ``&`` and ``*`` cannot hold an anchor or alias: libyaml composes it by itself
    (about 30 % faster, which matters when verify reads every sidecar in history; libyaml stops
    nesting at 1,000 levels) and the depth is checked on the result.
    """
    plain = (b"&" not in text and b"*" not in text) if isinstance(text, bytes) else (
        "&" not in text and "*" not in text)
    loader = Loader(text) if plain else _Bounded(text, max_depth)
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as exc:
        if "maximum nesting depth" in str(exc):  # libyaml's own cap, above ours
            raise Refused(_too_deep(max_depth)) from exc
        raise
    finally:
        loader.dispose()
    if too_deep(data, max_depth):
        raise Refused(_too_deep(max_depth))
    return data


def too_deep(data: Any, max_depth: int) -> bool:
    """Whether maps and lists nest deeper than ``max_depth``, found without recursion."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > max_depth:
                return True
            children = value.values() if isinstance(value, dict) else value
            stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return False


def reads_as_string(value: str) -> bool:
    """Whether a plain (unquoted) scalar ``value`` loads as this string, not null, a bool or a
    number."""
    tag = yaml.resolver.Resolver().resolve(yaml.ScalarNode, value, (True, False))  # type: ignore[no-untyped-call]
    return bool(tag == "tag:yaml.org,2002:str")


def line_of(text: bytes | str, path: Sequence[str | int]) -> int | None:
    """The 1-based line where the node at ``path`` (keys and list indexes) starts, or the
    line of its nearest parent that exists; None when the text does not parse."""
    try:
        node = yaml.compose(text, Loader=Loader)
    except YAMLError:
        return None
    line = node.start_mark.line + 1 if node is not None else None
    for key in path:
        node = _child(node, key)
        if node is None:
            break
        line = node.start_mark.line + 1
    return line


def _child(node: Any, key: str | int) -> Any:
    if isinstance(node, yaml.MappingNode):
        return next((v for k, v in node.value if getattr(k, "value", None) == key), None)
    if isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
        return node.value[key]
    return None


def dump(data: Any, **options: Any) -> str:
    text: str = yaml.dump(data, Dumper=Dumper, **options)
    return text


def has_aliases(text: bytes | str) -> bool:
    """Whether the text uses anchors or aliases, found from the event stream alone (nothing is
    built, so an alias bomb costs no more than its own bytes)."""
    for event in yaml.parse(text, Loader=Loader):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            return True
    return False
