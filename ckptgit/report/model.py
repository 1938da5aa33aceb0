"""Values the report and the model card are rendered from (gathered by ``ops.report``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ckptgit.model import Checkpoint, Sidecar


@dataclass(frozen=True)
class StageEvent:
    """One promotion, revert, unassignment, registration or deprecation, with its verdict.

    ``verified`` is False whenever the one verifier found anything wrong (bad or missing
    signature, bad trailers, a seal that names other bytes): then ``signer`` is only what the
    tag claims, and must never be shown as a signature.
    """

    tag: str
    name: str
    action: str
    stage: str | None
    version: str | None
    commit: str
    ckpt_id: str | None
    when: str  # ISO 8601 UTC
    signer: str | None
    rationale: str | None
    approvers: tuple[str, ...]
    reverts: str | None
    verified: bool
    problems: tuple[str, ...] = ()
    number: int | None = None
    kind: str = "assign"  # the tag grammar's kind: assign | unassign | register | deprecate


@dataclass(frozen=True)
class LockMark:
    """A stage frozen (lock) or released (unlock): the pauses on the charts."""

    tag: str
    stage: str
    kind: str  # lock | unlock
    when: str
    tagger: str
    rationale: str | None
    verified: bool
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class Holding:
    """Who holds one stage of one name now, and who held it before."""

    stage: str
    event: StageEvent
    checkpoint: Checkpoint | None
    previous: StageEvent | None
    previous_checkpoint: Checkpoint | None
    comparison: tuple[MetricLine, ...] = ()


@dataclass(frozen=True)
class MetricLine:
    metric: str
    old: Any
    new: Any
    direction: str  # better | worse | same | n/a
    rel_delta: float | None = None


@dataclass(frozen=True)
class DiffView:
    """The latest checkpoint against the current holder of the highest held stage."""

    old: Checkpoint
    new: Checkpoint
    stage: str
    metrics: tuple[MetricLine, ...]
    params: tuple[tuple[str, str, Any, Any], ...]  # path, change, old, new
    slices: tuple[tuple[str, str, float], ...]  # slice, metric, delta (new - old)
    modules: tuple[tuple[str, int, int, int], ...]  # module, added, removed, reshaped tensors


@dataclass(frozen=True)
class Integrity:
    """verify's verdict on the records (metadata only: no bytes hashed) and on the tags."""

    checkpoints: int
    failed: tuple[tuple[str, str], ...]  # subject, message
    tags: int
    bad_tags: tuple[tuple[str, str], ...]

    @property
    def ok(self) -> bool:
        return not self.failed and not self.bad_tags


@dataclass(frozen=True)
class PolicyFinding:
    name: str
    ckpt_id: str
    severity: str
    rule: str
    message: str


@dataclass(frozen=True)
class NameReport:
    name: str
    checkpoints: tuple[Checkpoint, ...]  # oldest first
    events: tuple[StageEvent, ...]
    holdings: tuple[Holding, ...]  # in stage order
    diff: DiffView | None
    key_metrics: tuple[str, ...]
    cards: dict[str, str] = field(default_factory=dict)  # checkpoint id -> card file (relative)


@dataclass(frozen=True)
class Site:
    repo: str
    generated_at: str
    head: str | None
    stages: tuple[str, ...]
    names: tuple[NameReport, ...]
    locks: tuple[LockMark, ...]
    integrity: Integrity
    findings: tuple[PolicyFinding, ...]
    config_stage_rules: dict[str, str] = field(default_factory=dict)  # stage -> what it serves


@dataclass(frozen=True)
class CardSettings:
    """The ``card:`` section of .ckpt/config.yaml: what the Hub metadata says about every model."""

    license: str | None = None
    tags: tuple[str, ...] = ()
    language: tuple[str, ...] = ()
    library_name: str | None = None
    pipeline_tag: str | None = None
    task: str = "other"  # model-index task type


@dataclass(frozen=True)
class CardFacts:
    checkpoint: Checkpoint
    doc: Sidecar | None  # the sidecar as saved (None when unreadable)
    parent: Checkpoint | None
    parent_doc: Sidecar | None
    metric_changes: tuple[MetricLine, ...]
    param_changes: tuple[tuple[str, str, Any, Any], ...]
    events: tuple[StageEvent, ...]  # stage events that name this checkpoint, oldest first
    problems: tuple[str, ...]  # verify's findings on this checkpoint's record
    settings: CardSettings
