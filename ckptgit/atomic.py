"""The ONE way a file is replaced: write a temporary beside it, then rename over it.

Readers see the old file or the new, never half of one. The temporary is
``.NAME.PID.THREAD.tmp`` in the same directory (same filesystem, so the rename is atomic), a
name ``git ckpt fsck`` recognizes as the leftover of a killed writer.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path


def write_atomic(path: Path, data: bytes | str) -> None:
    """Replace ``path`` with ``data`` (text is written as UTF-8) in one rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        tmp.write_bytes(data.encode() if isinstance(data, str) else data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
