"""Seals already checked, keyed by file identity, so ``diff --weights`` hashes a file once.

Local state under ``.git/ckpt/`` (never shared, safe to delete). An entry holds when the file's
inode, size, mtime and ctime are unchanged, as git's index trusts a file's stat data; ctime
cannot be set back by a user, so rewriting a file and restoring its mtime still forces a new
hash. ``git ckpt verify`` always rehashes everything.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ckptgit.atomic import write_atomic

FILE = "verified-seals.json"
LIMIT = 512  # entries kept; the oldest go first


def identity(path: Path) -> list[int]:
    st = os.stat(path)
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


class Seals:
    def __init__(self, state_dir: Path) -> None:
        self.file = state_dir / FILE
        try:
            self.entries: dict[str, list[object]] = json.loads(self.file.read_bytes())
        except (OSError, ValueError):
            self.entries = {}

    def known(self, path: Path, sha256: str) -> bool:
        """Whether ``path`` was hashed to ``sha256`` and has not changed since."""
        entry = self.entries.get(str(path.resolve()))
        try:
            return entry is not None and entry == [*identity(path), sha256]
        except OSError:
            return False

    def record(self, path: Path, sha256: str, identity: list[int]) -> None:
        """``identity`` taken before hashing: a change during the hash then never matches."""
        key = str(path.resolve())
        self.entries.pop(key, None)
        self.entries[key] = [*identity, sha256]
        while len(self.entries) > LIMIT:
            self.entries.pop(next(iter(self.entries)))

    def save(self) -> None:
        write_atomic(self.file, json.dumps(self.entries))

