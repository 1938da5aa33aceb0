"""How much input ckptgit will read before refusing it (docs/reliability.md, "Limits").

Every reader of user files and of history applies these bounds, so no document, however
hostile, can hang a command or exhaust the machine. Defaults are generous for honest data;
a repository may change them in ``.ckpt/config.yaml``:

    limits:
      sidecar_bytes: 4194304      # one sidecar (and any YAML read from history)
      values_bytes: 1048576       # one --metrics / --params file
      nesting_depth: 64           # maps and lists inside each other
      cel_chars: 1000             # one rank --where / gate expression
      cel_nodes: 1000             # its parse tree
      cel_comprehensions: 2       # .map/.filter/.all/.exists inside each other
      cel_seconds: 2.0            # evaluating it on one checkpoint

The active limits are process-wide: they are set once when a repository's config is read
(``Repo.open``, the server hook) and read by the loaders deep below, which have no config to
hand and must not each parse it again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Any

from ckptgit.errors import UsageError

CONFIG_KEY = "limits"


@dataclass(frozen=True)
class Limits:
    sidecar_bytes: int = 4 << 20
    values_bytes: int = 1 << 20
    nesting_depth: int = 64
    cel_chars: int = 1000
    cel_nodes: int = 1000
    cel_comprehensions: int = 2
    cel_seconds: float = 2.0


DEFAULT = Limits()
_active = DEFAULT


def active() -> Limits:
    return _active


def activate(limits: Limits) -> None:
    global _active
    _active = limits


def parse(data: Any, what: str) -> Limits:
    """The ``limits:`` section of a config; every value a positive number."""
    if data is None:
        return DEFAULT
    if not isinstance(data, dict):
        raise UsageError(f"{what}: {CONFIG_KEY} must be a mapping")
    known = {f.name: f for f in fields(Limits)}
    unknown = sorted(set(map(str, data)) - set(known))
    if unknown:
        raise UsageError(f"{what}: unknown {CONFIG_KEY} {unknown} (known: {', '.join(known)})")
    values: dict[str, Any] = {}
    for key, value in data.items():
        kind = float if known[key].type == "float" else int
        if isinstance(value, bool) or not isinstance(value, int | float) \
                or not math.isfinite(value) or value <= 0 \
                or (kind is int and not isinstance(value, int)):
            raise UsageError(f"{what}: {CONFIG_KEY}.{key} must be a positive "
                             f"{'number' if kind is float else 'whole number'}, not {value!r}")
        values[key] = kind(value)
    return replace(DEFAULT, **values)
