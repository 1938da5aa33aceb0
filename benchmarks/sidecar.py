"""The typed sidecar: 10,000 sidecars (2,000 with --quick) read four ways.

Every reader of history parses sidecars; issue 10 asks whether the typed value that flows
inward may be a plain frozen dataclass or should be msgspec or pydantic. The documents are
copies of one real save's sidecar (full environment and tensor summary, as ``_synth`` makes
them) with their own id, time, hashes, metrics and step. Four paths:

- today's path: YAML through the one bounded loader (C SafeLoader) into a ``dict``;
- the same, then ``Sidecar.from_doc`` (the frozen dataclasses in ``ckptgit.model``);
- the same, then ``msgspec.convert`` into equivalent ``msgspec.Struct`` classes;
- the same, then pydantic v2 ``model_validate`` into equivalent models.

The parse is common to all four, so it is timed once and each typing step on its own (the
dicts already parsed), interleaved; a path's figure is the parse plus its typing.
msgspec and pydantic are in the ``bench`` extra only; a missing one gives an n/a row.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

import _synth
import common


def _documents(n: int) -> list[bytes]:
    from ckptgit import sidecar

    with common.sandbox("sidecar") as box:
        template = _synth.template(box)
    rng = random.Random(10)
    docs = []
    for i in range(n):
        doc = _synth._doc(template, i, f"m{i % _synth.NAMES}", None, i // _synth.NAMES, rng,
                          None)
        docs.append(sidecar.dump(doc).encode())
    return docs


# msgspec and pydantic resolve annotations in the module's namespace: classes at module level
try:
    import msgspec

    class MsArtifact(msgspec.Struct, frozen=True):
        path: str
        format: str
        size: int
        md5: str
        sha256: str
        kind: str | None = None
        nfiles: int | None = None
        files: dict[str, Any] | None = None

    class MsCode(msgspec.Struct, frozen=True):
        commit: str | None
        branch: str | None
        dirty: bool
        diff_sha256: str | None = None
        untracked: int | None = None

    class MsData(msgspec.Struct, frozen=True):
        path: str
        md5: str
        size: int | None = None
        nfiles: int | None = None

    class MsCompanion(msgspec.Struct, frozen=True):
        path: str
        sha256: str
        md5: str | None = None
        size: int | None = None

    class MsDoc(msgspec.Struct, frozen=True):
        schema_version: int
        id: str
        name: str
        created_at: str
        artifact: MsArtifact
        code: MsCode
        environment: dict[str, Any]
        seeds: dict[str, Any]
        params: dict[str, Any]
        metrics: dict[str, Any]
        parent: str | None = None
        step: int | None = None
        epoch: float | None = None
        data: tuple[MsData, ...] | None = None
        distributions: dict[str, Any] | None = None
        slices: dict[str, Any] | None = None
        tensors: dict[str, Any] | None = None
        labels: tuple[str, ...] = ()
        notes: str | None = None
        owner: str | None = None
        command: tuple[str, ...] | None = None
        companions: tuple[MsCompanion, ...] | None = None
except ImportError:
    msgspec = None  # type: ignore[assignment]

try:
    from pydantic import BaseModel, ConfigDict

    frozen = ConfigDict(frozen=True, extra="allow")

    class PdArtifact(BaseModel):
        model_config = frozen
        path: str
        format: str
        size: int
        md5: str
        sha256: str
        kind: str | None = None
        nfiles: int | None = None
        files: dict[str, Any] | None = None

    class PdCode(BaseModel):
        model_config = frozen
        commit: str | None
        branch: str | None
        dirty: bool
        diff_sha256: str | None = None
        untracked: int | None = None

    class PdData(BaseModel):
        model_config = frozen
        path: str
        md5: str
        size: int | None = None
        nfiles: int | None = None

    class PdCompanion(BaseModel):
        model_config = frozen
        path: str
        sha256: str
        md5: str | None = None
        size: int | None = None

    class PdDoc(BaseModel):
        model_config = frozen
        schema_version: int
        id: str
        name: str
        created_at: str
        artifact: PdArtifact
        code: PdCode
        environment: dict[str, Any]
        seeds: dict[str, Any]
        params: dict[str, Any]
        metrics: dict[str, Any]
        parent: str | None = None
        step: int | None = None
        epoch: float | None = None
        data: tuple[PdData, ...] | None = None
        distributions: dict[str, Any] | None = None
        slices: dict[str, Any] | None = None
        tensors: dict[str, Any] | None = None
        labels: tuple[str, ...] = ()
        notes: str | None = None
        owner: str | None = None
        command: tuple[str, ...] | None = None
        companions: tuple[PdCompanion, ...] | None = None
except ImportError:
    BaseModel = None  # type: ignore[assignment,misc]


def _msgspec_types() -> Callable[[dict[str, Any]], object] | None:
    if msgspec is None:
        return None
    return lambda doc: msgspec.convert(doc, MsDoc)


def _pydantic_types() -> Callable[[dict[str, Any]], object] | None:
    return None if BaseModel is None else PdDoc.model_validate


def run(quick: bool) -> list[dict[str, Any]]:
    from ckptgit import sidecar
    from ckptgit.model import Sidecar

    n = 2_000 if quick else 10_000
    rounds = 3 if quick else 5
    raws = _documents(n)
    parsed = [sidecar.load(r) for r in raws]
    typers: dict[str, Callable[[dict[str, Any]], object] | None] = {
        "dataclass from_doc": Sidecar.from_doc, "msgspec.convert": _msgspec_types(),
        "pydantic model_validate": _pydantic_types()}
    available = {k: f for k, f in typers.items() if f is not None}

    def typing_only(typer: Callable[[dict[str, Any]], object]) -> Callable[[], object]:
        return lambda: [typer(d) for d in parsed]

    # the parse is the same for every path: timed once, the typing of each path on its own
    cases: dict[str, Callable[[], object]] = {"today": lambda: [sidecar.load(r) for r in raws]}
    cases.update({f"only {k}": typing_only(f) for k, f in available.items()})
    cases["to_doc"] = _to_doc([Sidecar.from_doc(d) for d in parsed])
    times = {k: common.median(v) for k, v in common.interleave(cases, rounds).items()}
    return _rows(n, rounds, times, [k for k, f in typers.items() if f is None])


def _to_doc(values: Sequence[Any]) -> Callable[[], object]:
    return lambda: [v.to_doc() for v in values]


def _rows(n: int, rounds: int, times: dict[str, float],
          missing: list[str]) -> list[dict[str, Any]]:
    note = f"{n:,} sidecars, median of {rounds}"
    today = times["today"]
    rows = [common.row(f"sidecar: load {n:,} (today: C SafeLoader -> dict)", today, None,
                       note=note)]
    for k in ("dataclass from_doc", "msgspec.convert", "pydantic model_validate"):
        if k in missing:
            rows.append(common.na(f"sidecar: load+{k}", f"{k.split('.')[0].split()[0]} is not "
                                  "installed (pip install -e '.[bench]')"))
            continue
        typed = times[f"only {k}"]
        rows.append(common.row(f"sidecar: load + {k}", today + typed, today,
                               baseline_name="load -> dict", max_ratio=1.1,
                               note=f"{note}; typing alone {typed * 1e6 / n:.1f} µs each "
                                    f"({typed:.3f} s in all), added to the load's time"))
    rows.append(common.row(f"sidecar: to_doc of {n:,} values (render back)", times["to_doc"],
                           None, note=note))
    return rows


if __name__ == "__main__":
    common.main(run)
