"""Fair comparison: were two checkpoints' metrics computed on the same evaluation data?

A save may name the DVC-tracked data its metrics came from (``--eval-data [SECTION=]PATH``);
the sidecar's ``eval_data`` list records each one's path, DVC hash and the metrics it covers
(``metrics: "*"`` for all, or a top-level metrics section such as ``val``). ``diff``, ``rank``,
``check`` and promotion compare, metric by metric, the hashes behind each side's value; when
they differ, or one side names its data and the other does not, they warn, or refuse (exit 4)
when ``.ckpt/config.yaml`` says ``comparison: {eval_data: refuse}`` (``ignore`` says nothing).
Two checkpoints that both record nothing (older saves) are compared as before, silently.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from ckptgit.compare import metrics
from ckptgit.config import CONFIG_PATH
from ckptgit.errors import PolicyError, UsageError

log = logging.getLogger(__name__)

ALL = "*"
MODES = ("warn", "refuse", "ignore")
Source = tuple[str, str]  # (path, DVC hash)


@dataclass(frozen=True)
class Mismatch:
    """Metrics of ``a`` and ``b`` that rest on different (or unknown vs known) data."""

    a: str  # checkpoint ids (short)
    b: str
    metrics: tuple[str, ...]
    a_data: tuple[Source, ...]
    b_data: tuple[Source, ...]

    @property
    def kind(self) -> str:
        return "unknown" if not (self.a_data and self.b_data) else "different"

    def message(self) -> str:
        shown = ", ".join(self.metrics[:5]) + (" …" if len(self.metrics) > 5 else "")
        if self.kind == "unknown":
            known, blind = (self.a, self.b) if self.a_data else (self.b, self.a)
            data = _describe(self.a_data or self.b_data)
            return (f"metrics {shown}: {blind} records no evaluation data, {known} was "
                    f"evaluated on {data}; the values may not be comparable")
        return (f"metrics {shown} were computed on different evaluation data: {self.a} on "
                f"{_describe(self.a_data)}, {self.b} on {_describe(self.b_data)}")

    def to_dict(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "kind": self.kind, "metrics": list(self.metrics),
                "a_eval_data": [{"path": p, "md5": h} for p, h in self.a_data],
                "b_eval_data": [{"path": p, "md5": h} for p, h in self.b_data],
                "message": self.message()}


def _describe(sources: Sequence[Source]) -> str:
    return ", ".join(f"{p} ({h[:8]})" for p, h in sources)


def sources(doc: Mapping[str, Any], metric: str) -> tuple[Source, ...]:
    """The evaluation data behind ``metric`` (a dotted name) in a sidecar, sorted."""
    found = set()
    for entry in doc.get("eval_data") or []:
        if not isinstance(entry, Mapping):
            continue  # the schema refuses it at save; a hand-pushed sidecar is not trusted
        section = str(entry.get("metrics", ALL))
        if section == ALL or metric == section or metric.startswith(section + "."):
            found.add((str(entry.get("path", "")), str(entry.get("md5", ""))))
    return tuple(sorted(found))


def compare(a_id: str, a_doc: Mapping[str, Any], b_id: str, b_doc: Mapping[str, Any],
            names: Iterable[str] | None = None) -> list[Mismatch]:
    """Mismatches over the metrics both sides have (or ``names``), grouped by data pair."""
    if not (a_doc.get("eval_data") or b_doc.get("eval_data")):
        return []  # neither side names its data: nothing to say (older saves)
    a_flat, b_flat = metrics.flatten(a_doc.get("metrics")), metrics.flatten(b_doc.get("metrics"))
    wanted = sorted(set(a_flat) & set(b_flat) if names is None else
                    {n for n in names if n in a_flat and n in b_flat})
    groups: dict[tuple[tuple[Source, ...], tuple[Source, ...]], list[str]] = {}
    for name in wanted:
        pair = (sources(a_doc, name), sources(b_doc, name))
        if {h for _, h in pair[0]} != {h for _, h in pair[1]}:  # same bytes moved: same data
            groups.setdefault(pair, []).append(name)
    return [Mismatch(a_id, b_id, tuple(found), pa, pb) for (pa, pb), found in groups.items()]


def mode(raw: Mapping[str, Any]) -> str:
    """``comparison.eval_data`` from the parsed config (default ``warn``), schema-checked."""
    section = raw.get("comparison")
    if section is None:
        return "warn"
    from jsonschema import Draft202012Validator

    errors = list(Draft202012Validator(_schema()).iter_errors(section))
    if errors:
        where = ".".join(["comparison", *map(str, errors[0].absolute_path)])
        raise UsageError(f"{CONFIG_PATH}: {where}: {errors[0].message} (eval_data: "
                         f"{' | '.join(MODES)})")
    return str(section.get("eval_data", "warn"))


def _schema() -> dict[str, Any]:
    text = resources.files("ckptgit").joinpath("schemas/comparison-v1.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


def judge(found: Sequence[Mismatch], how: str, what: str) -> list[Mismatch]:
    """Apply the configured mode to ``found``: refuse (exit 4), or return what to warn about
    (logged too, for the Python API; the commands also print it and put it in ``--json``)."""
    if how == "ignore" or not found:
        return []
    if how == "refuse":
        more = f" (+{len(found) - 1} more)" if len(found) > 1 else ""
        raise PolicyError(f"{what}: {found[0].message()}{more}; comparison.eval_data is "
                          "'refuse' in .ckpt/config.yaml: evaluate both on the same data")
    for m in found:
        log.warning("%s: %s", what, m.message())
    return list(found)
