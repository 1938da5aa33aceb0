"""``diff --weights`` across directory checkpoints (sharded safetensors), reading only the
shards whose bytes differ.

A directory's sidecar records each file's sha256 (``artifact.files``), bound to the
directory seal: the seal is the sha256 of their sorted manifest, so the list is checked
against it before use. Tensors are matched by name across the whole directory (a tensor may
move between shards). A tensor whose shard on both sides has the same sha256, at the same
offsets, is identical without a byte read; the other pairs of shards are compared on every
core, and each shard read is hashed against its own seal in the same run.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ckptgit import hashing, replicas, storage
from ckptgit.compare import weights
from ckptgit.compare.result import TensorStat, WeightsDiff
from ckptgit.errors import IntegrityError, UsageError
from ckptgit.model import Artifact, Checkpoint, Sidecar

SUFFIX = ".safetensors"


@dataclass(frozen=True)
class Side:
    """One directory checkpoint: each file's seal, and where its bytes are."""

    label: str  # "NAME (ID)" for messages
    seals: Mapping[str, str]  # relpath -> sha256
    objects: Mapping[str, Path]  # relpath -> readable bytes (a cache object)


def side(label: str, artifact: Artifact, listing: Mapping[str, Path],
         jobs: int) -> Side:
    """The per-file seals of a directory, checked against its recorded seal.

    Sidecars written before per-file seals were recorded have none: then every file is
    hashed once here (the only way to hold it against the directory seal).
    """
    recorded = artifact.files
    if isinstance(recorded, dict):
        seals = {str(k): str(v) for k, v in recorded.items()}
        if set(seals) != set(listing):
            raise IntegrityError(f"{label}: the DVC directory listing and the sidecar's "
                                 "per-file seals name different files")
    else:
        with ThreadPoolExecutor(jobs, thread_name_prefix="ckpt-seal") as pool:
            seals = dict(zip(listing, pool.map(_sha256, listing.values()), strict=True))
    if hashing.directory_seal(seals.items()) != artifact.sha256:
        raise IntegrityError(f"{label}: per-file seals do not match the directory seal")
    return Side(label, seals, listing)


def from_checkpoint(root: Path, ckpt: Checkpoint, doc: Sidecar, jobs: int) -> Side:
    """A directory checkpoint's side, its objects fetched from the DVC remote if missing."""
    art = doc.artifact
    label = f"{ckpt.name} ({ckpt.short_id})"
    pointer = storage.Pointer(ckpt.md5, ckpt.size, ckpt.path, art.nfiles)
    replicas.ensure_cached(root, pointer, label)
    listing = {rel: storage.object_path(root, md5)
               for rel, md5 in storage.dir_entries(root, ckpt.md5)}
    return side(label, art, listing, jobs)


def _sha256(path: Path) -> str:
    return hashing.stream(path, md5=False).sha256


Located = tuple[str, weights.Entry]  # (shard relpath, entry)


def compare(a: Side, b: Side, max_header: int, jobs: int | None = None) -> WeightsDiff:
    """Per-tensor numbers over every safetensors shard of both directories."""
    jobs = jobs or os.cpu_count() or 1
    where_a, where_b = _tensors(a, max_header), _tensors(b, max_header)
    rows: dict[str, weights.Row] = {}
    pairs: dict[tuple[str, str], list[str]] = {}
    for name, (ra, ea) in where_a.items():
        found = where_b.get(name)
        if found is None:
            rows[name] = (TensorStat(name, "removed", ea.numel), None)
            continue
        rb, eb = found
        if ea.shape != eb.shape:
            rows[name] = (TensorStat(name, "shape_changed", ea.numel), None)
        elif ea.dtype != eb.dtype:
            rows[name] = (TensorStat(name, "dtype_changed", ea.numel), None)
        elif a.seals[ra] == b.seals[rb] and (ea.start, ea.end) == (eb.start, eb.end):
            rows[name] = (TensorStat(name, "identical", ea.numel, 0.0, 0.0, None), None)
        else:
            pairs.setdefault((ra, rb), []).append(name)
    for name, (_, eb) in where_b.items():
        if name not in where_a:
            rows[name] = (TensorStat(name, "added", eb.numel), None)
    rows.update(_compare_pairs(a, b, pairs, where_a, where_b, jobs))
    ordered = [rows[n] for n in sorted(rows)]
    read = sorted({f"a/{ra}" for ra, _ in pairs} | {f"b/{rb}" for _, rb in pairs})
    return WeightsDiff(tuple(r[0] for r in ordered), weights.rollup(ordered), read=tuple(read))


def _tensors(s: Side, max_header: int) -> dict[str, Located]:
    """Every tensor of every shard (headers only: a few KB a shard)."""
    found: dict[str, Located] = {}
    for rel in sorted(s.objects):
        if not rel.endswith(SUFFIX):
            continue
        for name, entry in weights.read_header(s.objects[rel], max_header).items():
            if name in found:
                raise UsageError(f"{s.label}: tensor {name!r} is in both {found[name][0]} and "
                                 f"{rel}")
            found[name] = (rel, entry)
    return found


def _compare_pairs(a: Side, b: Side, pairs: dict[tuple[str, str], list[str]],
                   where_a: dict[str, Located], where_b: dict[str, Located],
                   jobs: int) -> dict[str, weights.Row]:
    """Each pair of shards on a worker; each shard read hashed against its seal meanwhile."""
    to_hash = {("a", ra) for ra, _ in pairs} | {("b", rb) for _, rb in pairs}
    sides = {"a": a, "b": b}
    out: dict[str, weights.Row] = {}
    with ThreadPoolExecutor(max(1, jobs), thread_name_prefix="ckpt-shards") as pool:
        hashed: dict[tuple[str, str], Future[str]] = {
            key: pool.submit(_sha256, sides[key[0]].objects[key[1]]) for key in sorted(to_hash)}
        walks = [pool.submit(_walk_pair, a.objects[ra], b.objects[rb],
                             [(n, where_a[n][1], where_b[n][1]) for n in names])
                 for (ra, rb), names in pairs.items()]
        for walk in walks:
            out.update(walk.result())
        bad = [f"{sides[s].label}: {rel}" for (s, rel), fut in hashed.items()
               if fut.result() != sides[s].seals[rel]]
    if bad:  # after the walk: numbers from unsealed bytes never escape
        raise IntegrityError(f"bytes do not match the recorded seal: {', '.join(bad)}; the "
                             "DVC cache object is corrupt: remove it and fetch it again")
    return out


def _walk_pair(path_a: Path, path_b: Path,
               names: list[tuple[str, weights.Entry, weights.Entry]]) -> dict[str, weights.Row]:
    rows: dict[str, weights.Row] = {}
    with weights._mapped(path_a) as ma, weights._mapped(path_b) as mb:
        for name, ea, eb in sorted(names, key=lambda t: t[1].start):  # file order
            rows[name] = weights._pair(name, ea, eb, ma, mb)
    return rows
