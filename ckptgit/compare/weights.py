"""Weight-level diff of two safetensors files (``diff --weights``), with bounded memory.

Both files are memory-mapped and walked tensor by tensor in file order, in chunks of
``CHUNK`` elements: raw bytes are compared first (identical chunks need no float math beyond
the norm the module roll-up needs), changed chunks give partial sums in float32 (BLAS dots)
that are accumulated in Python floats (float64). Pages already walked are dropped from the
mapping as we go, so resident memory stays around a few tens of MiB whatever the file size.

The seal is checked in the same run: each file's sha256 is computed on its own thread while
the main thread compares (hashlib and numpy release the GIL), so the files are read about once.
"""

from __future__ import annotations

import json
import math
import mmap
import os
import struct
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ckptgit import hashing
from ckptgit.capture import tensors as headers
from ckptgit.compare.result import ModuleStat, TensorStat, WeightsDiff
from ckptgit.errors import IntegrityError, UsageError

CHUNK = 1 << 18  # elements: a chunk of both tensors and their difference fit in L2/L3 cache
DROP = 32 << 20  # bytes of walked mapping released at a time
_PAGE = mmap.PAGESIZE

_NUMPY = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": "<u2", "I64": "<i8", "I32": "<i4",
          "I16": "<i2", "I8": "i1", "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1",
          "BOOL": "u1"}
_RAW = {1: "u1", 2: "<u2", 4: "<u4", 8: "<u8"}
_SIZES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1,
          "U64": 8, "U32": 4, "U16": 2, "U8": 1, "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1}


class SealError(IntegrityError):
    """A file's sha256 differs from the sidecar's seal; ``sides`` says which (``a``/``b``)."""

    def __init__(self, message: str, sides: set[str]) -> None:
        super().__init__(message)
        self.sides = sides


@dataclass(frozen=True)
class Entry:
    dtype: str
    shape: tuple[int, ...]
    start: int  # absolute file offsets
    end: int

    @property
    def numel(self) -> int:
        return math.prod(self.shape)


def read_header(path: Path, max_header: int = headers.SAFETENSORS_LIMIT) -> dict[str, Entry]:
    """Tensor entries with absolute offsets, checked against the file before any use."""
    try:
        headers._check_header(path, max_header)
        with path.open("rb") as fh:
            (length,) = struct.unpack("<Q", fh.read(8))
            raw = json.loads(fh.read(length))
        size = path.stat().st_size
    except (headers.HeaderError, ValueError, OSError) as exc:
        raise UsageError(f"{path.name} is not a readable safetensors file: {exc}") from exc
    base = 8 + length
    entries = {}
    for name, info in raw.items():
        if name == "__metadata__":
            continue
        try:
            dtype, shape = str(info["dtype"]), tuple(int(d) for d in info["shape"])
            start, end = (int(o) for o in info["data_offsets"])
        except (KeyError, TypeError, ValueError) as exc:
            raise IntegrityError(f"{path.name}: bad header entry for {name!r}") from exc
        width = _SIZES.get(dtype, 0)
        if (start < 0 or end < start or base + end > size or any(d < 0 for d in shape)
                or (width and end - start != math.prod(shape) * width)):
            raise IntegrityError(f"{path.name}: tensor {name!r} lies outside the file or has "
                                 "a size that does not match its shape")
        entries[name] = Entry(dtype, shape, base + start, base + end)
    return entries


@dataclass
class _Sums:
    """Float64 accumulators of one tensor pair."""

    aa: float = 0.0
    bb: float = 0.0
    ab: float = 0.0
    dd: float = 0.0
    max_abs: float = 0.0
    same: bool = True


class _Mapped:
    """A read-only map of a file that gives back the pages already walked."""

    def __init__(self, path: Path) -> None:
        fd = os.open(path, os.O_RDONLY)
        try:
            self.map = mmap.mmap(fd, 0, access=mmap.ACCESS_READ) if os.fstat(fd).st_size else None
        finally:
            os.close(fd)
        if self.map is not None:
            self.map.madvise(mmap.MADV_SEQUENTIAL)
        self._lo = self._hi = 0

    def walked(self, start: int, end: int) -> None:
        """Mark [start, end) as done; release contiguous walked runs of DROP bytes or more."""
        if start != self._hi:
            self.flush()
            self._lo = start
        self._hi = end
        if self._hi - self._lo >= DROP:
            self.flush()

    def flush(self) -> None:
        lo = -(-self._lo // _PAGE) * _PAGE  # only whole pages inside the walked run
        hi = self._hi // _PAGE * _PAGE
        if self.map is not None and hi > lo:
            # MADV_DONTNEED on a read-only file map drops our mapping, not the page cache
            self.map.madvise(mmap.MADV_DONTNEED, lo, hi - lo)
        self._lo = self._hi

    def close(self) -> None:
        if self.map is not None:
            with suppress(BufferError):  # a view still alive; the GC unmaps it later
                self.map.close()


@contextmanager
def _mapped(path: Path) -> Iterator[_Mapped]:
    m = _Mapped(path)
    try:
        yield m
    finally:
        m.close()


def compare(a: Path, b: Path, seal_a: str | None = None, seal_b: str | None = None,
            max_header: int = headers.SAFETENSORS_LIMIT,
            verify: tuple[str, ...] = ("a", "b")) -> WeightsDiff:
    """Per-tensor relative L2, max abs diff and cosine, and a per-module roll-up.

    Sides in ``verify`` that have a seal get their sha256 checked in the same run; a mismatch
    raises ``SealError`` (after the comparison: results from unsealed bytes never escape).
    """
    ha = read_header(a, max_header)
    if seal_a is not None and seal_a == seal_b:
        return WeightsDiff(tuple(TensorStat(n, "identical", e.numel, 0.0, 0.0, 1.0)
                                 for n, e in ha.items()), (), identical_files=True)
    hb = read_header(b, max_header)
    with ThreadPoolExecutor(2, thread_name_prefix="ckpt-seal") as pool:
        seals = {side: pool.submit(_sha256, path) for side, path, seal in
                 (("a", a, seal_a), ("b", b, seal_b)) if seal is not None and side in verify}
        rows = _walk(a, b, ha, hb)
        _check_seals(seals, {"a": seal_a, "b": seal_b}, {"a": a, "b": b})
    return WeightsDiff(tuple(r[0] for r in rows), rollup(rows))


def _sha256(path: Path) -> str:
    return hashing.stream(path, md5=False).sha256


def _check_seals(found: dict[str, Future[str]], expected: dict[str, str | None],
                 paths: dict[str, Path]) -> None:
    bad = {side for side, fut in found.items() if fut.result() != expected[side]}
    if bad:
        names = ", ".join(f"{paths[s]} (sha256 {found[s].result()[:16]}…, sealed "
                          f"{str(expected[s])[:16]}…)" for s in sorted(bad))
        raise SealError(f"bytes do not match the recorded seal: {names}", bad)


Row = tuple[TensorStat, _Sums | None]


def _walk(a: Path, b: Path, ha: dict[str, Entry], hb: dict[str, Entry]) -> list[Row]:
    rows: list[Row] = []
    with _mapped(a) as ma, _mapped(b) as mb:
        for name in sorted(ha, key=lambda n: ha[n].start):  # file order: sequential reads
            ea, eb = ha[name], hb.get(name)
            if eb is None:
                rows.append((TensorStat(name, "removed", ea.numel), None))
            elif ea.shape != eb.shape:
                rows.append((TensorStat(name, "shape_changed", ea.numel), None))
            elif ea.dtype != eb.dtype:
                rows.append((TensorStat(name, "dtype_changed", ea.numel), None))
            else:
                rows.append(_pair(name, ea, eb, ma, mb))
        rows.extend((TensorStat(n, "added", e.numel), None) for n, e in hb.items() if n not in ha)
    return rows


def _pair(name: str, ea: Entry, eb: Entry, ma: _Mapped, mb: _Mapped) -> Row:
    n = ea.numel
    if ea.dtype not in _NUMPY:  # fp8 and friends: bytes compared, no float math offered
        same = ma.map is not None and mb.map is not None and (
            ma.map[ea.start:ea.end] == mb.map[eb.start:eb.end])
        return TensorStat(name, "identical" if same else "bytes_only", n), None
    if n == 0:
        return TensorStat(name, "identical", 0, 0.0, 0.0, None), _Sums()
    kind, raw = _NUMPY[ea.dtype], _RAW[_SIZES[ea.dtype]]
    va = np.frombuffer(ma.map, dtype=kind, count=n, offset=ea.start)  # type: ignore[arg-type]
    vb = np.frombuffer(mb.map, dtype=kind, count=n, offset=eb.start)  # type: ignore[arg-type]
    sums = _Sums()
    width = _SIZES[ea.dtype]
    for i in range(0, n, CHUNK):
        xa, xb = va[i:i + CHUNK], vb[i:i + CHUNK]
        _chunk(sums, xa, xb, raw, ea.dtype)
        j = min(i + CHUNK, n)
        ma.walked(ea.start + i * width, ea.start + j * width)
        mb.walked(eb.start + i * width, eb.start + j * width)
    del va, vb
    return _stat(name, n, sums), sums


def _chunk(sums: _Sums, xa: Any, xb: Any, raw: str, dtype: str) -> None:
    fa = _floats(xa, dtype)
    if np.array_equal(xa.view(raw), xb.view(raw)):  # identical bytes: no difference to compute
        sq = float(np.dot(fa, fa))
        sums.aa += sq
        sums.bb += sq
        sums.ab += sq
        return
    sums.same = False
    fb = _floats(xb, dtype)
    d = fb - fa
    sums.aa += float(np.dot(fa, fa))
    sums.bb += float(np.dot(fb, fb))
    sums.ab += float(np.dot(fa, fb))
    sums.dd += float(np.dot(d, d))
    sums.max_abs = max(sums.max_abs, float(d.max()), -float(d.min()))


def _floats(x: Any, dtype: str) -> Any:
    if dtype in ("F32", "F64"):
        return x
    if dtype == "F16":
        return x.astype(np.float32)
    if dtype == "BF16":  # bfloat16 is the top half of a float32
        return (x.astype(np.uint32) << 16).view(np.float32)
    return x.astype(np.float64)


def _stat(name: str, n: int, s: _Sums) -> TensorStat:
    if s.same:
        return TensorStat(name, "identical", n, 0.0, 0.0, 1.0 if s.aa > 0 else None)
    return TensorStat(name, "changed", n, _ratio(s.dd, s.aa), s.max_abs, _cosine(s))


def _ratio(dd: float, aa: float) -> float:
    if aa > 0:
        return math.sqrt(dd) / math.sqrt(aa)
    return 0.0 if dd == 0 else math.inf


def _cosine(s: _Sums) -> float | None:
    if s.aa <= 0 or s.bb <= 0:
        return None
    return max(-1.0, min(1.0, s.ab / math.sqrt(s.aa * s.bb)))


def module_of(name: str) -> str:
    """``encoder.layer.3.attention.query.weight`` -> ``encoder.layer.3``; else two levels."""
    parts = name.split(".")
    for i, part in enumerate(parts[:-1]):
        if part.isdigit():
            return ".".join(parts[:i + 1])
    return ".".join(parts[:max(1, min(2, len(parts) - 1))])


@dataclass
class _Group:
    tensors: int = 0
    changed: int = 0
    aa: float = 0.0
    dd: float = 0.0
    max_abs: float = 0.0
    compared: bool = field(default=False)


def rollup(rows: list[Row]) -> tuple[ModuleStat, ...]:
    """Which parts moved most: ||delta|| / ||old|| over each module's compared tensors."""
    groups: dict[str, _Group] = {}
    for stat, sums in rows:
        g = groups.setdefault(module_of(stat.name), _Group())
        g.tensors += 1
        g.changed += stat.status != "identical"
        if sums is not None:
            g.compared = True
            g.aa += sums.aa
            g.dd += sums.dd
            g.max_abs = max(g.max_abs, sums.max_abs)
    stats = [ModuleStat(m, g.tensors, g.changed, _ratio(g.dd, g.aa) if g.compared else None,
                        g.max_abs) for m, g in groups.items()]
    stats.sort(key=lambda s: (-(s.rel_l2 if s.rel_l2 is not None else -1.0), s.module))
    return tuple(stats)
