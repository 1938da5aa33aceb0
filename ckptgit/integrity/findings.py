"""What verify finds: one finding, one checkpoint's status, the whole report.

Values only, so the checks that produce findings (tag signatures, OMS bundles) and the verbs
that gather them (verify, audit) share them without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ckptgit.integrity import records as recordlog
from ckptgit.model import Checkpoint, Sidecar


@dataclass(frozen=True)
class Finding:
    subject: str  # "clf 1a2b3c4d", or a tag name
    kind: str  # workspace|cache|remote|record|schema|edit|missing|tag|oms
    message: str

    def line(self) -> str:
        return f"{self.subject}: {self.message}"

    def to_dict(self) -> dict[str, str]:
        return {"subject": self.subject, "kind": self.kind, "message": self.message}


@dataclass
class Status:
    """What verify found for one checkpoint."""

    ckpt: Checkpoint
    verified_from: list[str] = field(default_factory=list)  # workspace, cache, remote
    findings: list[Finding] = field(default_factory=list)
    unverifiable: bool = False
    notes: list[str] = field(default_factory=list)
    record: dict[str, Any] | None = None  # the sidecar as saved, parsed (None: unreadable)
    value: Sidecar | None = None  # the same as the typed value (None: unreadable or malformed)
    pruned: bool = False  # retention removed its bytes on purpose (refs/ckpt/retention)

    @property
    def subject(self) -> str:
        return f"{self.ckpt.name} {self.ckpt.short_id}"

    @property
    def state(self) -> str:
        if self.findings:
            return "failed"
        if self.pruned:
            return "pruned"
        return "unverifiable" if self.unverifiable else "ok"

    def add(self, kind: str, message: str) -> None:
        self.findings.append(Finding(self.subject, kind, message))

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.ckpt.id, "name": self.ckpt.name, "commit": self.ckpt.commit,
                "path": self.ckpt.path, "sha256": self.ckpt.sha256, "status": self.state,
                "verified_from": self.verified_from, "notes": self.notes,
                "findings": [f.to_dict() for f in self.findings]}


@dataclass
class Report:
    checkpoints: list[Status]
    extra: list[Finding] = field(default_factory=list)  # tags, records of unknown checkpoints
    bytes_hashed: int = 0
    edits: list[recordlog.Edit] = field(default_factory=list)  # every rewrite of a saved record

    def failures(self, allow_missing: bool = False) -> list[Finding]:
        found = [f for s in self.checkpoints for f in s.findings] + self.extra
        if not allow_missing:
            found += [Finding(s.subject, "missing", _UNVERIFIABLE.format(path=s.ckpt.path))
                      for s in self.checkpoints
                      if s.unverifiable and not s.findings and not s.pruned]
        return found

    def to_dict(self, allow_missing: bool = False) -> dict[str, Any]:
        return {"ok": not self.failures(allow_missing),
                "checkpoints": [s.to_dict() for s in self.checkpoints],
                "findings": [f.to_dict() for f in self.failures(allow_missing)],
                "bytes_hashed": self.bytes_hashed}


_UNVERIFIABLE = ("unverifiable: the bytes of {path} are in neither the work tree, the cache "
                 "nor the DVC remote")
