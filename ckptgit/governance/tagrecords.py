"""Tag records (what ``for-each-ref`` says of a tag: its target, date, tagger and message
body) kept per TAG OBJECT ID in ``.git/ckpt/tag-records-v1.json``.

Everything a record holds comes from the tag object (for a lightweight tag, the commit), and
objects never change: so a warm ``stages`` or ``history`` asks git only for each ref's name
and object id (no object is read, half of the listing's cost at 10,000 tags) and takes the
rest from here; tags whose object is not here are read in one ``for-each-ref`` and added.
Names are never kept, nor verdicts (the verifier caches those per object, name and trust
root): a ref deleted and made again, or moved to another object, names another id, and an
entry no ref names is never shown.

The file is JSON (no pickle), and an entry is used only when it has the exact shape below;
anything else (truncated, garbage, nested, wrongly typed) is read again from git and the
file rewritten. Deleting the file is always safe: the next run reads every tag again.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from ckptgit.atomic import write_atomic
from ckptgit.git import Git, TagRecord

FILE = "tag-records-v1.json"
VERSION = 1
_OID = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")
_READ_ALL = 256  # more unknown objects than this: one read of the patterns, not of each name
_MAX = 200_000  # entries; past it only the objects listed now are kept


def records(git: Git, patterns: Sequence[str], ignore_case: bool = False) -> list[TagRecord]:
    """``git.tag_records(patterns, ignore_case)``, with the fields of known objects from
    the cache: the same records in the same order."""
    refs = git.tag_refs(patterns, ignore_case)
    cached = _load(git)
    known = {oid: rec for name, oid in refs if (rec := _record(name, oid, cached.get(oid)))}
    missing = [name for name, oid in refs if oid not in known]
    fresh: dict[str, TagRecord] = {}
    if missing:
        wanted = [f"refs/tags/{n}" for n in missing] if len(missing) <= _READ_ALL \
            else list(patterns)
        fresh = {r.name: r for r in git.tag_records(wanted, ignore_case)}
    out = []
    for name, oid in refs:
        hit = known.get(oid)
        # a ref moved since it was listed: the later read is the truer; deleted: gone
        rec = TagRecord(name, *_fields(hit)) if hit is not None else fresh.get(name)
        if rec is not None:
            out.append(rec)
    if fresh:
        _save(git, cached, fresh.values(), {oid for _, oid in refs})
    return out


def _fields(rec: TagRecord) -> tuple[str, str, bool, int, str, str]:
    return rec.object, rec.target, rec.annotated, rec.created_at, rec.tagger, rec.body


def _record(name: str, oid: str, entry: Any) -> TagRecord | None:
    """The record an entry gives ``name`` at ``oid``, or None unless it has the exact shape
    ``[annotated, target, created_at, tagger, body]``."""
    if type(entry) is not list or len(entry) != 5:
        return None
    annotated, target, when, tagger, body = entry
    if type(annotated) is not bool or type(target) is not str or type(when) is not int \
            or type(tagger) is not str or type(body) is not str \
            or not _OID.fullmatch(target):
        return None
    return TagRecord(name, oid, target, annotated, when, tagger, body)


def _load(git: Git) -> dict[str, Any]:
    import orjson

    try:
        data = orjson.loads((git.ckpt_dir / FILE).read_bytes())
    except (OSError, ValueError):  # missing, unreadable, a directory, not JSON (orjson's
        return {}  # errors are ValueErrors): read again from git
    if type(data) is not dict or data.get("version") != VERSION:
        return {}
    found = data.get("records")
    return found if type(found) is dict else {}


def _save(git: Git, cached: dict[str, Any], fresh: Any, listed: set[str]) -> None:
    import orjson

    entries = {oid: e for oid, e in cached.items()  # what was wrong in the file goes
               if (len(cached) < _MAX or oid in listed) and _OID.fullmatch(oid)
               and _record("", oid, e) is not None}
    for rec in fresh:
        if _OID.fullmatch(rec.object) and _storable(rec):
            entries[rec.object] = [rec.annotated, rec.target, rec.created_at, rec.tagger,
                                   rec.body]
    try:
        write_atomic(git.ckpt_dir / FILE, orjson.dumps({"version": VERSION,
                                                       "records": entries}))
    except (OSError, TypeError):  # a cache: the next run reads the tags again
        pass


def _storable(rec: TagRecord) -> bool:
    """JSON holds text only: a body git gave us with undecodable bytes is read every time."""
    try:
        rec.body.encode()
        rec.tagger.encode()
    except UnicodeEncodeError:
        return False
    return True
