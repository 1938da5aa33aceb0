"""Metrics, params and seeds: from files (JSON/YAML) and ``K=V`` pairs (which files: sources.py)."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ckptgit import sidecar
from ckptgit.errors import UsageError

log = logging.getLogger(__name__)

def read_file(path: Path, what: str) -> dict[str, Any]:
    if not path.is_file():
        raise UsageError(f"{what} file {path} does not exist")
    return parse(path.read_bytes(), path, what)


def parse(raw: bytes, path: Path, what: str) -> dict[str, Any]:
    """The mapping in ``raw``, the bytes of ``path`` (JSON by its suffix, else YAML)."""
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise UsageError(f"{what} file {path} is not valid JSON: {exc}") from exc
    else:
        data = sidecar.parse_yaml(raw, f"{what} file {path}")
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
    for part in parts[:-1]:
        nxt = target.setdefault(part, {})
        if not isinstance(nxt, dict):
            raise UsageError(f"{key}: {part} is already a value, not a group")
        target = nxt
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
