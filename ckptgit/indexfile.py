"""The index file's layout (version 4): what is stored where, and reading only what is used.

One line of JSON (the header: version, HEAD, row count, forgeries, and where each column is),
then for every field of ``saves.FIELDS`` its column as one JSON array, and the start of every
element of that array as fixed-width hex (8 digits each, ``count + 1`` of them). A reader
parses a whole column only when it uses it (``list`` reads 6 of 13), and builds one row from
one cell of each column (``show`` and ``diff`` build one or two rows of 100,000).

Nothing in the file is trusted: the header is checked before use (types, every section inside
the file, a start table of the recorded length), and a column or cell is checked when it is
read (``saves.typed_column``, ``saves.typed_cell``). A reader that finds anything wrong says
so (None) and the caller rebuilds from history. JSON only: no pickle or marshal.
"""

from __future__ import annotations

import array
import itertools
import json
import os
import re
import sys
from dataclasses import dataclass
from typing import Any, BinaryIO

VERSION = 4
_WIDTH = 8  # hex digits per element start: sections up to 4 GiB
# a string column whose joined text holds none of these is written by orjson as each string
# in quotes, so its element lengths are known without dumping each string
_ESCAPED = re.compile(r'["\\\x00-\x1f\x7f-\U0010ffff]')
_OID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


def loads(raw: bytes | memoryview) -> Any:
    """orjson, several times faster than the standard library; it refuses the NaN and Infinity
    tokens ``json.dumps`` writes for such metrics, so those take the standard library's parser,
    which reads them back as they were written."""
    import orjson

    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(bytes(raw))


def _parts(column: list[Any]) -> tuple[bytes, list[int]]:
    """The column as a JSON array and the byte length of each element in it."""
    import orjson

    if all(type(v) is str for v in column) and not _ESCAPED.search("".join(column)):
        return orjson.dumps(column), [len(v) + 2 for v in column]
    parts = [_dump_one(v) for v in column]
    return b"[" + b",".join(parts) + b"]", list(map(len, parts))


def _dump_one(value: Any) -> bytes:
    """orjson writes NaN and infinities as null, and refuses integers past 64 bits: those
    (rare) values are written by the standard library, as the version-3 file did."""
    import orjson

    try:
        out = orjson.dumps(value)
    except (orjson.JSONEncodeError, TypeError, ValueError):
        return json.dumps(value).encode()
    return json.dumps(value).encode() if b"null" in out and value is not None else out


def encode(head: str, columns: dict[str, list[Any]], forged: list[dict[str, str]],
           fields: tuple[str, ...]) -> bytes:
    """The file for these columns (of equal length, ``fields`` in order)."""
    import orjson

    count = len(columns[fields[0]]) if fields else 0
    body: list[bytes] = []
    sections: dict[str, list[int]] = {}
    at = 0
    for f in fields:
        text, lengths = _parts(columns[f])
        starts = array.array("I", itertools.accumulate(lengths, lambda a, n: a + n + 1,
                                                        initial=1))
        if sys.byteorder == "little":
            starts.byteswap()  # big-endian, so each 8 hex digits read as one number
        table = starts.tobytes().hex().encode()
        sections[f] = [at, len(text), at + len(text)]
        body += [text, table]
        at += len(text) + len(table)
    header = {"version": VERSION, "head": head, "count": count, "forged": forged,
              "size": at, "sections": sections}
    return orjson.dumps(header) + b"\n" + b"".join(body)


@dataclass(frozen=True)
class Layout:
    """A file whose header passed every check; columns and cells are read on demand, by
    offset from the open file (a replaced file keeps its open version; a file cut short
    since is a failed read, never a crash)."""

    head: str
    count: int
    forged: list[dict[str, str]]
    file: BinaryIO
    body: int  # where the body starts in the file
    sections: dict[str, tuple[int, int, int]]

    def _read(self, at: int, size: int) -> bytes | None:
        try:
            got = os.pread(self.file.fileno(), size, self.body + at)
        except (OSError, ValueError):
            return None
        return got if len(got) == size else None

    def column(self, field: str) -> Any:
        """The parsed JSON of the field's column (the caller checks it), or None."""
        at, size, _ = self.sections[field]
        return _parsed(self._read(at, size))

    def cell(self, field: str, row: int) -> tuple[bool, Any]:
        """(True, the parsed element) of ``row`` in the field's column, else (False, None)."""
        at, size, table = self.sections[field]
        if not 0 <= row < self.count:
            return False, None
        pair = self._read(table + row * _WIDTH, 2 * _WIDTH) or b"-"
        try:
            start, end = int(pair[:_WIDTH], 16), int(pair[_WIDTH:], 16)
        except ValueError:
            return False, None
        if not 1 <= start < end <= size:
            return False, None
        value = _parsed(self._read(at + start, end - 1 - start), _BAD)
        return (False, None) if value is _BAD else (True, value)


_BAD = object()  # a cell that failed to read (a cell may hold null)


def _parsed(raw: bytes | None, bad: Any = None) -> Any:
    if raw is None:
        return bad
    try:
        return loads(raw)
    except (ValueError, RecursionError, MemoryError):
        return bad


def layout(file: BinaryIO, fields: tuple[str, ...]) -> Layout | None:
    """The layout of the open file when its header is one this version wrote and every
    section it names lies inside the file; None otherwise."""
    found = _header(file)
    if found is None:
        return None
    head, body = found
    if type(head) is not dict or head.get("version") != VERSION:
        return None
    oid, count, forged = head.get("head"), head.get("count"), head.get("forged")
    if type(oid) is not str or not _OID.fullmatch(oid):  # it reaches git's command line
        return None
    size = os.fstat(file.fileno()).st_size - body
    if type(count) is not int or count < 0 or head.get("size") != size:
        return None
    if type(forged) is not list or not all(_forgery_ok(f) for f in forged):
        return None
    sections = _sections(head.get("sections"), fields, count, size)
    if sections is None:
        return None
    return Layout(oid, count, forged, file, body, sections)


def _header(file: BinaryIO) -> tuple[Any, int] | None:
    """The parsed first line and where the body starts, reading no further than the line."""
    chunks: list[bytes] = []
    while True:
        chunk = file.read(1 << 16)
        if not chunk:
            return None
        cut = chunk.find(b"\n")
        if cut >= 0:
            line = b"".join([*chunks, chunk[:cut]])
            return _parsed(line), len(line) + 1
        chunks.append(chunk)


_FORGERY_KEYS = {"commit", "id", "name", "reason"}


def _forgery_ok(f: Any) -> bool:
    return type(f) is dict and f.keys() == _FORGERY_KEYS and {type(v) for v in f.values()} <= {str}


def _sections(table: Any, fields: tuple[str, ...], count: int,
              size: int) -> dict[str, tuple[int, int, int]] | None:
    """Each field's (start, length, start table) when all are ints inside the body and the
    start table holds ``count + 1`` entries before the end of the body."""
    if type(table) is not dict or set(table) != set(fields):
        return None
    out = {}
    for f in fields:
        entry = table[f]
        if type(entry) is not list or len(entry) != 3 or {type(v) for v in entry} != {int}:
            return None
        at, length, starts = entry
        if not (0 <= at and 2 <= length and at + length <= size
                and 0 <= starts and starts + (count + 1) * _WIDTH <= size):
            return None
        out[f] = (at, length, starts)
    return out
