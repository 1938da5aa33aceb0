"""Value objects. No I/O here: other modules build and read these."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Checkpoint:
    """One saved checkpoint: the artifact at one commit, as the index knows it."""

    id: str
    name: str
    commit: str
    created_at: str
    path: str
    sha256: str
    md5: str
    size: int
    step: int | None = None
    parent: str | None = None
    labels: tuple[str, ...] = ()
    metrics: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def short_id(self) -> str:
        return self.id[:8]

    @property
    def dvcfile(self) -> str:
        return self.path + ".dvc"

    @property
    def sidecar_path(self) -> str:
        return self.path + ".ckpt.yaml"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["labels"] = list(self.labels)
        data["artifact"] = {"path": self.path, "md5": self.md5, "sha256": self.sha256,
                            "size": self.size}
        return data

    @classmethod
    def from_sidecar(cls, doc: dict[str, Any], commit: str) -> Checkpoint:
        art = doc["artifact"]
        return cls(
            id=doc["id"], name=doc["name"], commit=commit, created_at=doc["created_at"],
            path=art["path"], sha256=art["sha256"], md5=art["md5"], size=int(art["size"]),
            step=doc.get("step"), parent=doc.get("parent"),
            labels=tuple(doc.get("labels") or ()),
            metrics=doc.get("metrics") or {}, params=doc.get("params") or {},
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Checkpoint:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        known["labels"] = tuple(known.get("labels") or ())
        return cls(**known)


@dataclass(frozen=True)
class StageAssignment:
    """A stage currently held by a checkpoint, from the newest assignment tag."""

    name: str
    stage: str
    tag: str
    commit: str
    number: int
