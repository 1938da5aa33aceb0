"""Tensor summaries from safetensors headers: names, dtypes, shapes, parameter count.

Only the header is read (the safetensors library maps the file and parses its JSON header);
no weight bytes are touched. The header length is bounded and checked before the library sees
the file, so a hostile or truncated file costs nothing and says what is wrong.
"""

from __future__ import annotations

import logging
import math
import struct
from pathlib import Path
from typing import Any

from ckptgit.errors import UsageError

log = logging.getLogger(__name__)

SAFETENSORS_LIMIT = 100_000_000  # the format's own cap on header size


class HeaderError(ValueError):
    pass


def _check_header(path: Path, max_header: int) -> None:
    size = path.stat().st_size
    with path.open("rb") as fh:
        prefix = fh.read(8)
        if len(prefix) < 8:
            raise HeaderError("file is shorter than a safetensors header")
        (length,) = struct.unpack("<Q", prefix)
        if length > min(max_header, SAFETENSORS_LIMIT):
            raise HeaderError(f"header claims {length} bytes, over the {max_header}-byte limit")
        if 8 + length > size:
            raise HeaderError(f"header claims {length} bytes but the file has {size}")
        if fh.read(1) != b"{":
            raise HeaderError("header is not a JSON object")


def summarize(path: Path, max_header: int = SAFETENSORS_LIMIT) -> dict[str, Any]:
    """Header summary of a safetensors file; ``HeaderError`` when it is not a valid one."""
    _check_header(path, max_header)
    from safetensors import SafetensorError, safe_open

    tensors: list[dict[str, Any]] = []
    dtypes: dict[str, int] = {}
    params = 0
    try:
        with safe_open(str(path), framework="numpy") as handle:
            metadata = handle.metadata()
            for name in handle.keys():  # noqa: SIM118 - safe_open is not a mapping
                view = handle.get_slice(name)
                dtype, shape = str(view.get_dtype()), [int(d) for d in view.get_shape()]
                count = math.prod(shape)
                params += count
                dtypes[dtype] = dtypes.get(dtype, 0) + count
                tensors.append({"name": name, "dtype": dtype, "shape": shape})
    except SafetensorError as exc:
        raise HeaderError(str(exc).splitlines()[0]) from exc
    return {
        "count": len(tensors),
        "parameters": params,
        "dtypes": dict(sorted(dtypes.items())),
        "metadata": dict(metadata) if metadata else None,
        "tensors": tensors,
    }


def summarize_for_save(path: Path, max_header: int, strict: bool) -> dict[str, Any] | None:
    """The summary for a sidecar; a bad header is a warning (opaque file) unless ``strict``."""
    try:
        return summarize(path, max_header)
    except HeaderError as exc:
        if strict:
            raise UsageError(f"{path.name} is not a valid safetensors file: {exc}") from exc
        log.warning("%s: unreadable safetensors header (%s); saved as an opaque file",
                    path.name, exc)
        return None
