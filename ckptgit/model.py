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
        missing = _REQUIRED.difference(known)
        if missing:  # as the constructor would say it
            raise TypeError(f"Checkpoint is missing {', '.join(sorted(missing))}")
        # The frozen constructor sets each field through object.__setattr__: a third of
        # reading the index of 100,000 saves. Filling __dict__ gives the same object.
        obj = object.__new__(cls)
        fields = obj.__dict__
        fields.update(_DEFAULTS)
        fields["metrics"], fields["params"] = {}, {}
        fields.update(known)
        return obj


_REQUIRED = frozenset(("id", "name", "commit", "created_at", "path", "sha256", "md5", "size"))
_DEFAULTS: dict[str, Any] = {"step": None, "parent": None, "labels": ()}


@dataclass(frozen=True)
class StageAssignment:
    """A stage currently held by a checkpoint, from the newest assignment tag."""

    name: str
    stage: str
    tag: str
    commit: str
    number: int


# -- the sidecar as a value ----------------------------------------------------------------------
# Parsed once at the edge (``Sidecar.from_doc`` over a document ``sidecar.load`` has already
# migrated and validated) and passed inward. Call sites still pass ``dict[str, Any]`` today;
# they move to this value one by one.


@dataclass(frozen=True)
class Artifact:
    path: str
    format: str
    size: int
    md5: str
    sha256: str
    kind: str | None = None  # file | directory (older sidecars: absent)
    nfiles: int | None = None  # directories only


@dataclass(frozen=True)
class CodeState:
    commit: str | None
    branch: str | None
    dirty: bool
    diff_sha256: str | None = None


@dataclass(frozen=True)
class Companion:
    """A file sealed with the checkpoint (tokenizer, eval results)."""

    path: str
    sha256: str
    md5: str | None = None
    size: int | None = None


@dataclass(frozen=True)
class Sidecar:
    """Everything a save recorded (docs/sidecar.md). Open-ended sections stay mappings."""

    schema_version: int
    id: str
    name: str
    created_at: str
    artifact: Artifact
    code: CodeState
    environment: dict[str, Any]
    seeds: dict[str, Any]
    params: dict[str, Any]
    metrics: dict[str, Any]
    parent: str | None = None
    step: int | None = None
    epoch: float | None = None
    data: tuple[dict[str, Any], ...] = ()
    distributions: dict[str, Any] = field(default_factory=dict)
    slices: dict[str, Any] = field(default_factory=dict)
    tensors: dict[str, Any] | None = None
    labels: tuple[str, ...] = ()
    notes: str | None = None
    owner: str | None = None
    command: tuple[str, ...] | None = None
    companions: tuple[Companion, ...] = ()

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Sidecar:
        """From a loaded, migrated and schema-valid document (``sidecar.load``)."""
        art, code = doc["artifact"], doc["code"]
        command = doc.get("command")
        return cls(
            schema_version=int(doc["schema_version"]), id=doc["id"], name=doc["name"],
            created_at=doc["created_at"],
            artifact=Artifact(art["path"], art["format"], int(art["size"]), art["md5"],
                              art["sha256"], art.get("kind"), art.get("nfiles")),
            code=CodeState(code.get("commit"), code.get("branch"), bool(code.get("dirty")),
                           code.get("diff_sha256")),
            environment=dict(doc["environment"]), seeds=dict(doc["seeds"] or {}),
            params=dict(doc["params"] or {}), metrics=dict(doc["metrics"] or {}),
            parent=doc.get("parent"), step=doc.get("step"), epoch=doc.get("epoch"),
            data=tuple(doc.get("data") or ()), distributions=dict(doc.get("distributions") or {}),
            slices=dict(doc.get("slices") or {}), tensors=doc.get("tensors"),
            labels=tuple(doc.get("labels") or ()), notes=doc.get("notes"),
            owner=doc.get("owner"), command=tuple(command) if command is not None else None,
            companions=tuple(Companion(c["path"], c["sha256"], c.get("md5"), c.get("size"))
                             for c in doc.get("companions") or ()),
        )
