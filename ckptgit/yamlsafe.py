"""The ONE YAML choice: PyYAML's safe loader and dumper, the C (libyaml) ones when present.

Every YAML ckptgit reads (sidecars, DVC pointers, manifests, config) goes through ``load``, so
no file can build Python objects and every reader parses at the same speed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
YAMLError = yaml.YAMLError


def load(text: bytes | str) -> Any:
    """One document, safely; raises ``YAMLError``."""
    return yaml.load(text, Loader=Loader)  # noqa: S506 - Loader is a safe loader


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
