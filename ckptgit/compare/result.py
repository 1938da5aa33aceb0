"""Value objects of a comparison. No I/O: sections build them, renderers read them.

``Diff.to_dict()`` is the stable JSON shape documented in docs/compare.md; add fields, never
rename or remove them.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

JSON_VERSION = 1
# Sections in report order; ``--only`` picks among these. ``weights`` only with ``--weights``.
SECTIONS = ("metrics", "params", "seeds", "data", "code", "environment", "tensors",
            "weights", "distributions", "slices")


@dataclass(frozen=True)
class Change:
    """One value that differs: ``path`` is dotted (``optim.lr``, ``packages.numpy``)."""

    path: str
    change: str  # added | removed | changed
    old: Any = None
    new: Any = None


@dataclass(frozen=True)
class MetricDelta:
    name: str
    old: Any
    new: Any
    change: str  # added | removed | changed | same
    abs_delta: float | None = None
    rel_delta: float | None = None  # relative to |old|; None when old is 0 or not a number
    goal: str | None = None  # min | max | None (unknown)
    direction: str = "n/a"  # better | worse | same | n/a


@dataclass(frozen=True)
class FileChange:
    path: str
    added: int | None  # lines; None for binary files
    deleted: int | None


@dataclass(frozen=True)
class CodeDiff:
    old_commit: str | None
    new_commit: str | None
    commits: int = 0  # commits in new but not in old, save commits excluded
    commits_behind: int = 0  # commits in old but not in new (the two diverged)
    files: tuple[FileChange, ...] = ()
    changes: tuple[Change, ...] = ()  # branch, dirty, diff digest

    @property
    def empty(self) -> bool:
        return self.old_commit == self.new_commit and not self.changes


@dataclass(frozen=True)
class TensorSpec:
    name: str
    dtype: str
    shape: tuple[int, ...]


@dataclass(frozen=True)
class TensorChange:
    name: str
    old: TensorSpec
    new: TensorSpec


@dataclass(frozen=True)
class TensorsDiff:
    available: bool  # both sidecars carry a header summary
    old_count: int | None = None
    new_count: int | None = None
    old_parameters: int | None = None
    new_parameters: int | None = None
    added: tuple[TensorSpec, ...] = ()
    removed: tuple[TensorSpec, ...] = ()
    changed: tuple[TensorChange, ...] = ()  # shape or dtype

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed) and (
            self.old_parameters == self.new_parameters)


@dataclass(frozen=True)
class TensorStat:
    name: str
    # identical | changed | shape_changed | dtype_changed | added | removed | bytes_only
    status: str
    numel: int
    rel_l2: float | None = None  # ||new - old|| / ||old||
    max_abs: float | None = None
    cosine: float | None = None


@dataclass(frozen=True)
class ModuleStat:
    """A roll-up of the tensors under one module prefix (``encoder.layer.3``, ``embeddings``)."""

    module: str
    tensors: int
    changed: int
    rel_l2: float | None
    max_abs: float


@dataclass(frozen=True)
class WeightsDiff:
    tensors: tuple[TensorStat, ...]
    modules: tuple[ModuleStat, ...]
    identical_files: bool = False  # same sha256: nothing was read
    read: tuple[str, ...] | None = None  # directories: the shards whose bytes were read

    @property
    def empty(self) -> bool:
        return self.identical_files or all(t.status == "identical" for t in self.tensors)


@dataclass(frozen=True)
class DistributionShift:
    name: str
    kind: str  # histogram | calibration
    change: str  # changed | added | removed | incomparable
    distance: float | None = None  # Jensen-Shannon distance (histogram) or ECE delta
    old_ece: float | None = None
    new_ece: float | None = None
    threshold: float | None = None
    flagged: bool = False
    note: str | None = None


@dataclass(frozen=True)
class SliceDelta:
    slice: str
    metric: str
    old: Any
    new: Any
    delta: float | None
    impact: float | None  # delta weighted by the slice's share of samples
    direction: str = "n/a"
    change: str = "changed"  # added | removed | changed


@dataclass(frozen=True)
class Side:
    id: str
    name: str
    commit: str
    created_at: str
    step: int | None
    sha256: str


@dataclass(frozen=True)
class Diff:
    """The comparison of checkpoint ``a`` (old) with ``b`` (new), section by section.

    Only requested sections are present; a present section lists only what differs (metrics
    list every metric, with direction ``same`` for the unchanged ones).
    """

    a: Side
    b: Side
    sections: dict[str, Any] = field(default_factory=dict)
    # metrics computed on different evaluation data (compare/evaldata.py): dicts, in --json
    warnings: tuple[dict[str, Any], ...] = ()

    @property
    def same_checkpoint(self) -> bool:
        return self.a.id == self.b.id

    @property
    def identical(self) -> bool:
        return not any(_differs(name, value) for name, value in self.sections.items())

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"version": JSON_VERSION, "a": asdict(self.a), "b": asdict(self.b),
                               "identical": self.identical, "sections": {}}
        for name, value in self.sections.items():
            out["sections"][name] = _plain(value)
        if self.warnings:
            out["warnings"] = [dict(w) for w in self.warnings]
        return out


def _differs(name: str, value: Any) -> bool:
    if name == "metrics":
        return any(m.change != "same" for m in value)
    if isinstance(value, (list, tuple)):
        return bool(value)
    return not value.empty


def _plain(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if hasattr(value, "__dataclass_fields__"):
        return {k: _plain(v) for k, v in asdict(value).items()}
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # "nan"/"inf", as sidecars store them: JSON has no NaN
    return value
