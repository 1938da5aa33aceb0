"""Tag records (what ``for-each-ref`` says of a tag: its target, date, tagger and message
body) kept per TAG OBJECT ID in ``.git/ckpt/tag-records-v1.json``.

Everything a record holds comes from the tag object (for a lightweight tag, the commit), and
objects never change: so a warm ``stages`` or ``history`` asks git only for each ref's name
and object id (no object is read, half of the listing's cost at 10,000 tags) and takes the
rest from here; tags whose object is not here are read in one ``for-each-ref`` and added.
Names are never kept, nor verdicts (the verifier caches those per object, name and trust
root): a ref deleted and made again, or moved to another object, names another id, and an
entry no ref names is never shown.

The file is JSON (no pickle), one list per field (``_COLUMNS``), used only when every list
has the same length and only its field's type, and every object id and target is one
(checked column by column, at C speed); anything else (truncated, garbage, nested, wrongly
typed) is read again from git and the file rewritten. Deleting the file is always safe: the
next run reads every tag again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ckptgit.atomic import write_atomic
from ckptgit.git import Git, TagRecord

FILE = "tag-records-v1.json"
VERSION = 1
_OID = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")
_COLUMNS = {"objects": str, "annotated": bool, "targets": str, "dates": int, "taggers": str,
            "bodies": str}
_READ_ALL = 256  # more unknown objects than this: one read of the patterns, not of each name
_MAX = 200_000  # entries; past it only the objects listed now are kept


@dataclass(frozen=True)
class _Table:
    """The file's columns, checked; ``at``: object id -> row."""

    columns: dict[str, list[Any]]
    at: dict[str, int]


def records(git: Git, patterns: Sequence[str], ignore_case: bool = False) -> list[TagRecord]:
    """``git.tag_records(patterns, ignore_case)``, with the fields of known objects from
    the cache: the same records in the same order."""
    refs = git.tag_refs(patterns, ignore_case)
    table = _load(git)
    at = table.at
    missing = [name for name, oid in refs if oid not in at]
    fresh: dict[str, TagRecord] = {}
    if missing:
        wanted = [f"refs/tags/{n}" for n in missing] if len(missing) <= _READ_ALL \
            else list(patterns)
        fresh = {r.name: r for r in git.tag_records(wanted, ignore_case)}
    cols = table.columns
    targets, annotated, dates, taggers, bodies = (cols["targets"], cols["annotated"],
                                                  cols["dates"], cols["taggers"], cols["bodies"])
    out = []
    for name, oid in refs:
        i = at.get(oid)
        if i is not None:
            out.append(TagRecord(name, oid, targets[i], annotated[i], dates[i], taggers[i],
                                 bodies[i]))
        elif (rec := fresh.get(name)) is not None:  # a ref moved since it was listed: the
            out.append(rec)  # later read is the truer; deleted since: gone
    if fresh:
        _save(git, table, fresh.values(), {oid for _, oid in refs})
    return out


def _load(git: Git) -> _Table:
    import orjson

    empty = _Table({k: [] for k in _COLUMNS}, {})
    try:
        data = orjson.loads((git.ckpt_dir / FILE).read_bytes())
    except (OSError, ValueError):  # missing, unreadable, a directory, not JSON (orjson's
        return empty  # errors are ValueErrors): read again from git
    if type(data) is not dict or data.get("version") != VERSION:
        return empty
    cols: dict[str, Any] = {k: data.get(k) for k in _COLUMNS}
    if any(type(c) is not list for c in cols.values()) \
            or len({len(c) for c in cols.values()}) != 1:
        return empty
    for key, kind in _COLUMNS.items():
        if not set(map(type, cols[key])) <= {kind}:  # bool is no int here: type(), not isinstance
            return empty
    if not all(map(_OID.fullmatch, cols["objects"])) \
            or not all(map(_OID.fullmatch, cols["targets"])):
        return empty
    return _Table(cols, dict(zip(cols["objects"], range(len(cols["objects"])), strict=True)))


def _save(git: Git, table: _Table, fresh: Iterable[TagRecord], listed: set[str]) -> None:
    import orjson

    cols = {k: list(v) for k, v in table.columns.items()}
    if len(table.at) >= _MAX:  # only what is listed now stays
        keep = [i for i, oid in enumerate(cols["objects"]) if oid in listed]
        cols = {k: [v[i] for i in keep] for k, v in cols.items()}
    seen = set(cols["objects"])
    for rec in fresh:
        if rec.object in seen or not _OID.fullmatch(rec.object) \
                or not _OID.fullmatch(rec.target) or not _storable(rec):
            continue
        seen.add(rec.object)
        for key, value in zip(_COLUMNS, (rec.object, rec.annotated, rec.target,
                                         rec.created_at, rec.tagger, rec.body), strict=True):
            cols[key].append(value)
    try:
        write_atomic(git.ckpt_dir / FILE, orjson.dumps({"version": VERSION, **cols}))
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
