"""The sidecars the report's model cards are written from, kept by blob id under .git/ckpt/.

A card shows most of a sidecar (owner, notes, params, seeds, environment, data, seals), but
verify's parse cache keeps only what verify reads, so a report cannot take its cards from
verify's records. Parsing a thousand sidecars again on every report costs seconds (PyYAML
builds every node in Python), and a saved sidecar is an immutable blob: each one is parsed
once (on every core, as verify does) and kept here without its tensor summary, which no card
shows and which is most of its bytes. Keyed also by the ckptgit version, as verify's cache is.
A document that is not plain JSON (a YAML date, say) is used as parsed and not kept.

Local state, never shared, safe to delete: a missing or unreadable file means a cold start.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

from ckptgit import sidecar
from ckptgit.git import Git
from ckptgit.model import Checkpoint

FILE = "card-sidecars-v1.json"
LIMIT = 200_000  # entries; beyond it the file keeps only what this report used
_DROP = ("tensors",)


@cache
def _stamp() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"{version('ckptgit')}:{','.join(_DROP)}"
    except PackageNotFoundError:
        return f"0:{','.join(_DROP)}"


Parsed = Callable[[str, sidecar.Checked], None]


def load(git: Git, ckpts: Sequence[Checkpoint],
         parsed: Parsed | None = None) -> dict[str, dict[str, Any]]:
    """checkpoint id -> its sidecar as saved (without the tensor summary), for every one
    that is readable; an unreadable one is left out (its card says so). ``parsed(blob id,
    result)`` hears of every sidecar parsed here (verify's cache takes them: parsed once)."""
    specs = {f"{c.commit}:{c.sidecar_path}": c for c in ckpts}
    oids = git.object_ids(list(specs))
    kept = _read(git)
    out: dict[str, dict[str, Any]] = {}
    missing = []
    for spec, ckpt in specs.items():
        oid = oids.get(spec)
        hit = kept.get(oid) if oid else None
        if isinstance(hit, dict):
            out[ckpt.id] = hit
        elif oid:
            missing.append(spec)
    new = _parse(git, missing, specs, out, lambda spec, checked: parsed and parsed(
        str(oids[spec]), checked))
    if new:
        base = kept if len(kept) + len(new) <= LIMIT else {
            str(oids[s]): kept[str(oids[s])] for s in specs if str(oids.get(s)) in kept}
        _write(git, {**base, **{str(oids[spec]): doc for spec, doc in new.items()}})
    return out


def _parse(git: Git, specs: list[str], ckpts: dict[str, Checkpoint],
           out: dict[str, dict[str, Any]],
           parsed: Callable[[str, sidecar.Checked], object]) -> dict[str, dict[str, Any]]:
    """Parse ``specs`` into ``out``; returns those that can be kept (spec -> doc)."""
    blobs = git.cat_files(specs)
    found = [(spec, raw) for spec in specs if (raw := blobs.get(spec)) is not None]
    new = {}
    for (spec, _), checked in zip(found, sidecar.check_many([raw for _, raw in found]),
                                  strict=True):
        parsed(spec, checked)
        if checked.doc is None:
            continue
        doc = {k: v for k, v in checked.doc.items() if k not in _DROP}
        try:  # as a later report reads it back: the same card, warm or cold
            doc = json.loads(json.dumps(doc, allow_nan=False))
            new[spec] = doc
        except (TypeError, ValueError):
            pass
        out[ckpts[spec].id] = doc
    return new


def _read(git: Git) -> dict[str, Any]:
    try:
        data = json.loads((git.ckpt_dir / FILE).read_bytes())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("stamp") != _stamp():
        return {}
    entries = data.get("entries")
    return entries if isinstance(entries, dict) else {}


def _write(git: Git, entries: dict[str, Any]) -> None:
    path = git.ckpt_dir / FILE
    tmp = path.with_name(f"{FILE}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps({"stamp": _stamp(), "entries": entries},
                                  separators=(",", ":")))
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)  # a read-only .git: the next report parses again
