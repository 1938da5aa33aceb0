"""Metrics, params and seeds: from files (JSON/YAML) and ``K=V`` pairs (which files: sources.py)."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ckptgit import limits, loader, sidecar
from ckptgit.errors import UsageError

log = logging.getLogger(__name__)


def read_file(path: Path, what: str) -> dict[str, Any]:
    """A metrics or params file, within ``limits.values_bytes`` and the nesting limit."""
    return parse(loader.read_file(path, f"{what} file", limits.active().values_bytes), path,
                 what)


def parse(raw: bytes, path: Path, what: str) -> dict[str, Any]:
    """The mapping in ``raw``, the bytes of ``path`` (JSON by its suffix, else YAML)."""
    bound = limits.active().values_bytes
    if path.suffix.lower() == ".json":
        data = loader.load_json(raw, f"{what} file {path}", bound)
    else:
        data = loader.load_yaml(raw, f"{what} file {path}", bound)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UsageError(f"{what} file {path} must hold a mapping of names to values")
    return data


def parse_pairs(pairs: Iterable[str], what: str) -> dict[str, Any]:
    """``K=V`` pairs; V is read as a YAML scalar so ``lr=3e-4`` is a number and ``a=b`` a string."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--{what} expects KEY=VALUE, got {pair!r}")
        _set_dotted(out, key.strip(), _scalar(value, f"--{what} {key}"))
    return out


def _scalar(value: str, what: str) -> Any:
    """A number as Python reads it, else a YAML scalar, else the text itself.

    YAML 1.1 reads ``3e-4`` and ``nan`` as strings; users typing them mean numbers (and a
    non-finite one must reach ``finite`` to be warned about).
    """
    text = value.strip()
    if not text:
        return ""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        pass
    try:
        parsed = sidecar.parse_yaml(value, what)
    except UsageError:  # ``a: b: c`` or ``[x``: the user typed text, not YAML
        return value
    return value if isinstance(parsed, (dict, list)) else parsed


def _set_dotted(target: dict[str, Any], key: str, value: Any) -> None:
    """``optim.lr=0.1`` nests, as params files usually do."""
    parts = key.split(".")
    if any(not p.strip() for p in parts):
        raise UsageError(f"{key}: empty part in a dotted name")
    for part in parts[:-1]:
        nxt = target.setdefault(part, {})
        if not isinstance(nxt, dict):
            raise UsageError(f"{key}: {part} is already a value, not a group")
        target = nxt
    if parts[-1] in target:
        # never drop one of two values silently: 'a.b=1' then 'a=2', or 'a=1' twice
        raise UsageError(f"{key} is given twice or conflicts with another key "
                         f"({'a group' if isinstance(target[parts[-1]], dict) else 'a value'} "
                         "already); give each key once")
    target[parts[-1]] = value


def merge(*layers: Mapping[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for layer in layers:
        for key, value in (layer or {}).items():
            if isinstance(value, Mapping) and isinstance(out.get(key), dict):
                out[key] = merge(out[key], value)
            else:
                out[key] = value
    return out


def finite(data: Any, what: str, path: str = "") -> Any:
    """NaN and infinities become strings ("nan", "inf", "-inf") with a warning.

    YAML could hold them, but JSON consumers and comparisons cannot, and a diverged run must
    still be saved and visible rather than crash the save.
    """
    if isinstance(data, float) and not math.isfinite(data):
        log.warning("%s %s is %s; stored as the string %r", what, path or "value", data, str(data))
        return str(data)
    if isinstance(data, Mapping):
        return {str(k): finite(v, what, f"{path}.{k}" if path else str(k)) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [finite(v, what, f"{path}[{i}]") for i, v in enumerate(data)]
    if data is None or isinstance(data, (str, int, float, bool)):
        return data
    return str(data)
