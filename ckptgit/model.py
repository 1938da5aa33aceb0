"""Value objects. No I/O here: other modules build and read these."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ckptgit.filenames import SIDECAR_SUFFIX  # the one definition of a sidecar's name


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
        return self.path + SIDECAR_SUFFIX

    def to_dict(self) -> dict[str, Any]:
        # what asdict gives, without its generic deep copy (a third of ``list --json``)
        data = {f: getattr(self, f) for f in self.__dataclass_fields__}
        data["metrics"], data["params"] = _fresh(self.metrics), _fresh(self.params)
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
    def of(cls, value: Sidecar, commit: str) -> Checkpoint:
        art = value.artifact
        return cls(id=value.id, name=value.name, commit=commit, created_at=value.created_at,
                   path=art.path, sha256=art.sha256, md5=art.md5, size=art.size,
                   step=value.step, parent=value.parent, labels=value.labels,
                   metrics=value.metrics, params=value.params)

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
# Parsed once at the edge (``sidecar.read``: load, migrate, then ``Sidecar.from_doc``) and passed
# inward. ``to_doc`` is the one way back to a document (YAML, JSON, rule languages) and gives back
# exactly what was stored: every value keeps the keys it did not model (``extra``) and the order
# and presence of the keys it read (``keys``), so absent and null stay different. A value built
# in code (``keys`` empty) renders in the order a save writes.


def _order(doc: Mapping[str, Any], known: tuple[str, ...]) -> tuple[tuple[str, ...],
                                                                     dict[str, Any]]:
    return tuple(doc), {k: v for k, v in doc.items() if k not in known}


def _section(doc: Mapping[str, Any], key: str, required: bool = True) -> dict[str, Any] | None:
    """An open-ended section: a mapping (null read as empty when required), never a scalar
    that a consumer's ``.get`` would trip on."""
    value = doc[key] if required else doc.get(key)
    if value is None:
        return {} if required else None
    if not isinstance(value, dict):
        raise TypeError(f"{key} is a {type(value).__name__}, not a mapping")
    return value


def _required(doc: Mapping[str, Any], key: str) -> dict[str, Any]:
    return _section(doc, key) or {}


def _fresh(value: Any) -> Any:
    """A copy of a loaded document's value (mappings, lists, scalars): the caller's to change
    without touching the value; about three times cheaper than ``copy.deepcopy``."""
    if isinstance(value, dict):
        return {k: _fresh(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_fresh(v) for v in value]
    return value


def _emit(values: dict[str, Any], keys: tuple[str, ...], extra: Mapping[str, Any],
          always: tuple[str, ...]) -> dict[str, Any]:
    """The document: stored keys in stored order, or (built in code) ``always`` plus set ones."""
    if keys:
        out = {k: _fresh(values[k] if k in values else extra[k]) for k in keys}
        # set in code after reading (``dataclasses.replace``): appended, not lost; what
        # ``from_doc`` makes of an absent key (None, [], False) stays absent
        out.update({k: v for k, v in values.items()
                    if k not in out and v is not None and v != [] and v is not False})
        return out
    out = {k: _fresh(v) for k, v in values.items() if k in always or v is not None}
    out.update(_fresh(dict(extra)))
    return out


@dataclass(frozen=True)
class Artifact:
    path: str
    format: str
    size: int
    md5: str
    sha256: str
    kind: str | None = None  # file | directory (older sidecars: absent)
    nfiles: int | None = None  # directories only
    files: dict[str, Any] | None = None  # directories: member -> digests (diff --weights)
    extra: dict[str, Any] = field(default_factory=dict)
    keys: tuple[str, ...] = ()

    _KNOWN: ClassVar[tuple[str, ...]] = ("path", "kind", "format", "size", "nfiles", "md5",
                                         "sha256", "files")

    @classmethod
    def from_doc(cls, art: Mapping[str, Any]) -> Artifact:
        keys, extra = _order(art, cls._KNOWN)
        return cls(art["path"], art["format"], int(art["size"]), art["md5"], art["sha256"],
                   art.get("kind"), art.get("nfiles"), art.get("files"), extra, keys)

    def to_doc(self) -> dict[str, Any]:
        values = {"path": self.path, "kind": self.kind, "format": self.format,
                  "size": self.size, "nfiles": self.nfiles, "md5": self.md5,
                  "sha256": self.sha256, "files": self.files}
        return _emit(values, self.keys, self.extra, ("path", "format", "size", "md5", "sha256"))


@dataclass(frozen=True)
class CodeState:
    commit: str | None
    branch: str | None
    dirty: bool
    diff_sha256: str | None = None
    untracked: int | None = None  # files git does not ignore, when any
    extra: dict[str, Any] = field(default_factory=dict)
    keys: tuple[str, ...] = ()

    _KNOWN: ClassVar[tuple[str, ...]] = ("commit", "branch", "dirty", "diff_sha256", "untracked")

    @classmethod
    def from_doc(cls, code: Mapping[str, Any]) -> CodeState:
        keys, extra = _order(code, cls._KNOWN)
        return cls(code.get("commit"), code.get("branch"), bool(code.get("dirty", False)),
                   code.get("diff_sha256"), code.get("untracked"), extra, keys)

    def to_doc(self) -> dict[str, Any]:
        values = {"commit": self.commit, "branch": self.branch, "dirty": self.dirty,
                  "diff_sha256": self.diff_sha256, "untracked": self.untracked}
        return _emit(values, self.keys, self.extra, ("commit", "branch", "dirty"))


@dataclass(frozen=True)
class DataInput:
    """A DVC-tracked input the run read (``save --data``)."""

    path: str
    md5: str
    size: int | None = None
    nfiles: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    keys: tuple[str, ...] = ()

    _KNOWN: ClassVar[tuple[str, ...]] = ("path", "md5", "size", "nfiles")

    @classmethod
    def from_doc(cls, entry: Mapping[str, Any]) -> DataInput:
        keys, extra = _order(entry, cls._KNOWN)
        return cls(entry["path"], entry["md5"], entry.get("size"), entry.get("nfiles"),
                   extra, keys)

    def to_doc(self) -> dict[str, Any]:
        values = {"path": self.path, "md5": self.md5, "size": self.size, "nfiles": self.nfiles}
        return _emit(values, self.keys, self.extra, self._KNOWN)


@dataclass(frozen=True)
class Companion:
    """A file sealed with the checkpoint (tokenizer, eval results)."""

    path: str
    sha256: str
    md5: str | None = None
    size: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    keys: tuple[str, ...] = ()

    _KNOWN: ClassVar[tuple[str, ...]] = ("path", "md5", "sha256", "size")

    @classmethod
    def from_doc(cls, entry: Mapping[str, Any]) -> Companion:
        keys, extra = _order(entry, cls._KNOWN)
        return cls(entry["path"], entry["sha256"], entry.get("md5"), entry.get("size"),
                   extra, keys)

    def to_doc(self) -> dict[str, Any]:
        values = {"path": self.path, "md5": self.md5, "sha256": self.sha256, "size": self.size}
        return _emit(values, self.keys, self.extra, self._KNOWN)


# what a save writes even when null; the other optional keys only when set
_ALWAYS = ("schema_version", "id", "name", "created_at", "artifact", "code", "environment",
           "seeds", "params", "metrics", "parent", "step", "labels", "notes", "owner", "command")


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
    data: tuple[DataInput, ...] | None = None
    distributions: dict[str, Any] | None = None
    slices: dict[str, Any] | None = None
    tensors: dict[str, Any] | None = None
    labels: tuple[str, ...] = ()
    notes: str | None = None
    owner: str | None = None
    command: tuple[str, ...] | None = None
    companions: tuple[Companion, ...] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    keys: tuple[str, ...] = ()

    _KNOWN: ClassVar[tuple[str, ...]] = (
              "schema_version", "id", "name", "created_at", "artifact", "code", "environment",
              "seeds", "params", "metrics", "parent", "step", "epoch", "data", "distributions",
              "slices", "tensors", "labels", "notes", "owner", "command", "companions")

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Sidecar:
        """From a loaded and migrated document (``sidecar.read`` maps a malformed one to
        an IntegrityError)."""
        keys, extra = _order(doc, cls._KNOWN)
        command, data, comps = doc.get("command"), doc.get("data"), doc.get("companions")
        return cls(
            schema_version=int(doc["schema_version"]), id=doc["id"], name=doc["name"],
            created_at=doc["created_at"], artifact=Artifact.from_doc(doc["artifact"]),
            code=CodeState.from_doc(doc["code"]), environment=_required(doc, "environment"),
            seeds=_required(doc, "seeds"), params=_required(doc, "params"),
            metrics=_required(doc, "metrics"),
            parent=doc.get("parent"), step=doc.get("step"), epoch=doc.get("epoch"),
            data=None if data is None else tuple(DataInput.from_doc(d) for d in data),
            distributions=_section(doc, "distributions", False),
            slices=_section(doc, "slices", False), tensors=_section(doc, "tensors", False),
            labels=tuple(str(x) for x in doc.get("labels") or ()),
            notes=doc.get("notes"), owner=doc.get("owner"),
            command=None if command is None else tuple(command),
            companions=None if comps is None else tuple(Companion.from_doc(c) for c in comps),
            extra=extra, keys=keys,
        )

    def to_doc(self) -> dict[str, Any]:
        """The document this value was read from (or a save would write): the one rendering."""
        values: dict[str, Any] = {
            "schema_version": self.schema_version, "id": self.id, "name": self.name,
            "created_at": self.created_at, "artifact": self.artifact.to_doc(),
            "code": self.code.to_doc(), "environment": self.environment, "seeds": self.seeds,
            "params": self.params, "metrics": self.metrics, "parent": self.parent,
            "step": self.step, "epoch": self.epoch,
            "data": None if self.data is None else [d.to_doc() for d in self.data],
            "distributions": self.distributions, "slices": self.slices, "tensors": self.tensors,
            "labels": list(self.labels), "notes": self.notes, "owner": self.owner,
            "command": None if self.command is None else list(self.command),
            "companions": (None if self.companions is None
                           else [c.to_doc() for c in self.companions]),
        }
        return _emit(values, self.keys, self.extra, _ALWAYS)

    @property
    def policy(self) -> Mapping[str, Any]:
        """What the guardrails recorded at save (``warnings``, ``overrides``); may be empty."""
        section = self.extra.get("policy")
        return section if isinstance(section, Mapping) else {}

    def overrides(self) -> list[Mapping[str, Any]]:
        return [o for o in self.policy.get("overrides") or () if isinstance(o, Mapping)]
