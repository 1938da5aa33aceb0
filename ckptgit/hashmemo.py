"""Digests of files already stored, keyed by file identity, so an unchanged shard is not read.

A sharded checkpoint is usually saved again with most shards untouched (a fine-tune that
rewrites two of twenty). Their bytes are already in the DVC cache under the md5 we computed
last time; reading 1.8 GB again to learn the same two digests is the whole cost of such a save.

Local state under ``.git/ckpt/`` (never shared, safe to delete). An entry holds when the
file's device, inode, size, mtime and ctime are unchanged, as git's index trusts stat data
(ctime cannot be set back by a user, so rewriting a file and restoring its mtime still forces
a new read), and only while the cache object it names still exists. ``git ckpt verify``
never consults it: it rehashes everything.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

FILE = "stored-digests-v1.json"
LIMIT = 100_000  # entries kept; the oldest go first (a few MB of JSON at most)


@dataclass(frozen=True)
class Known:
    md5: str
    sha256: str
    size: int


def identity(st: os.stat_result) -> list[int]:
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


class HashMemo:
    """Thread-safe: shards are stored by several threads at once."""

    def __init__(self, state_dir: Path) -> None:
        self.file = state_dir / FILE
        self._lock = threading.Lock()
        self._dirty = False
        try:
            loaded = json.loads(self.file.read_bytes())
            self.entries: dict[str, list[object]] = loaded if isinstance(loaded, dict) else {}
        except (OSError, ValueError):
            self.entries = {}

    def get(self, path: Path, st: os.stat_result) -> Known | None:
        """What ``path`` hashed to, when it has not changed since (``st`` taken now)."""
        with self._lock:
            entry = self.entries.get(os.fspath(path.resolve()))
        if not isinstance(entry, list) or len(entry) != 7 or entry[:5] != identity(st):
            return None
        md5, sha256 = entry[5], entry[6]
        if not (isinstance(md5, str) and isinstance(sha256, str)):
            return None
        return Known(md5, sha256, st.st_size)

    def put(self, path: Path, before: os.stat_result, known: Known) -> None:
        """``before`` was taken before hashing: a change during the read then never matches."""
        key = os.fspath(path.resolve())
        with self._lock:
            self.entries.pop(key, None)
            self.entries[key] = [*identity(before), known.md5, known.sha256]
            while len(self.entries) > LIMIT:
                self.entries.pop(next(iter(self.entries)))
            self._dirty = True

    def save(self) -> None:
        if not self._dirty:
            return
        self.file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.file.with_name(f"{FILE}.{os.getpid()}.{threading.get_ident()}.tmp")
        with self._lock:
            tmp.write_text(json.dumps(self.entries))
            self._dirty = False
        os.replace(tmp, self.file)
