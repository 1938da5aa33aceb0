"""Verify's parse results, kept by blob id, so a second ``verify --all`` parses nothing.

A saved sidecar is a git blob; a blob never changes, so what parsing and the schema check
made of it holds for as long as the parser and the schema do. Both are part of the key (the
ckptgit version and a digest of the shipped schema): a new release re-parses everything once.
Only what verify and audit read is kept (id, artifact, code, data, schema problems), a few
hundred bytes a save; the environment and tensor summaries are not.

Local state under ``.git/ckpt/`` (never shared, safe to delete). It is a cache of a pure
function of immutable input: it can be stale only if the file is edited by hand, which needs
write access to ``.git/`` (where hooks and refs already live). ``--no-cache`` style coldness
is simply a missing file.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from functools import cache
from pathlib import Path
from typing import Any

from ckptgit import sidecar

FILE = "verified-records-v1.json"
LIMIT = 1_000_000  # entries; beyond it the file is rebuilt from what this run needed
_KEEP = ("schema_version", "id", "name", "created_at", "artifact", "code", "data", "parent",
         "step")


@cache
def _stamp() -> str:
    """What parsing depends on: this ckptgit and the schema it ships."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        ours = version("ckptgit")
    except PackageNotFoundError:
        ours = "0"
    schema = json.dumps(sidecar._schema(), sort_keys=True).encode()
    return f"{ours}:{hashlib.sha256(schema).hexdigest()[:16]}"


def reduced(doc: dict[str, Any]) -> dict[str, Any]:
    """What verify and audit read of a sidecar (kept here; workers reduce before sending)."""
    out = {k: doc[k] for k in _KEEP if k in doc}
    code = doc.get("code")
    if isinstance(code, dict):
        out["code"] = {k: code[k] for k in ("commit", "branch", "dirty") if k in code}
    art = doc.get("artifact")
    if isinstance(art, dict):
        out["artifact"] = {k: v for k, v in art.items() if k != "files"}
    return out


class ParseCache:
    def __init__(self, state_dir: Path) -> None:
        self.file = state_dir / FILE
        self._new: dict[str, list[Any]] = {}
        self.entries: dict[str, list[Any]] = {}
        try:
            data = json.loads(self.file.read_bytes())
            if isinstance(data, dict) and data.get("stamp") == _stamp():
                self.entries = data.get("entries") or {}
        except (OSError, ValueError):
            pass

    def get(self, oid: str | None) -> sidecar.Checked | None:
        entry = self.entries.get(oid) if oid else None
        if not isinstance(entry, list) or len(entry) != 3:
            return None
        doc, error, problems = entry
        return sidecar.Checked(doc, error, list(problems))

    def put(self, oid: str, checked: sidecar.Checked) -> None:
        doc = reduced(checked.doc) if checked.doc is not None else None
        self._new[oid] = [doc, checked.error, checked.problems]

    def save(self) -> None:
        if not self._new:
            return
        entries = self.entries if len(self.entries) + len(self._new) <= LIMIT else {}
        entries.update(self._new)
        self.file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.file.with_name(f"{FILE}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps({"stamp": _stamp(), "entries": entries},
                                  separators=(",", ":")))
        os.replace(tmp, self.file)
        self._new = {}


def blob_id(raw: bytes) -> str:
    """The id git gives ``raw`` as a blob (sha1 repositories)."""
    return hashlib.sha1(b"blob %d\0" % len(raw) + raw, usedforsecurity=False).hexdigest()
