"""The ONE YAML choice: PyYAML's safe loader and dumper, the C (libyaml) ones when present.

Every YAML ckptgit reads (sidecars, DVC pointers, manifests, config) goes through ``load``, so
no file can build Python objects and every reader parses at the same speed.
"""

from __future__ import annotations

from typing import Any

import yaml

Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
YAMLError = yaml.YAMLError


def load(text: bytes | str) -> Any:
    """One document, safely; raises ``YAMLError``."""
    return yaml.load(text, Loader=Loader)  # noqa: S506 - Loader is a safe loader


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
