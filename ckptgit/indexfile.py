"""The index file's layout (version 4): what is stored where, and reading only what is used.

One line of JSON (the header: version, HEAD, row count, forgeries, where each column is, and
which columns hold an integer past 64 bits, read by the standard library rather than orjson),
then for every field of ``saves.FIELDS`` its column as one JSON array, and where every element
of that array starts, as its distance from the array's end in fixed-width hex (8 digits each,
``count + 1`` of them; from the end, so a save adds its row in front without rewriting them).
A reader parses a whole column only when it uses it (``list`` reads 6 of 13), and builds one
row from one cell of each column (``show`` and ``diff`` build one or two rows of 100,000).

Nothing in the file is trusted: the header is checked before use (types, every section inside
the file, a start table of the recorded length), and a column or cell is checked when it is
read (``saves.typed_column``, ``saves.typed_cell``). A reader that finds anything wrong says
so (None) and the caller rebuilds from history. JSON only: no pickle or marshal.
"""

from __future__ import annotations

import array
import gc
import itertools
import json
import operator
import os
import re
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
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


def _parts(column: list[Any]) -> tuple[bytes, list[int], bool]:
    """The column as a JSON array, the byte length of each element in it, and whether it
    holds an integer past 64 bits (``Layout.exact``). orjson writes
    the whole column in one call; each element's length is worked out from its value where
    that is exact (strings that need no escaping, integers, None, empty lists), since one
    orjson call per element costs about 1 µs (0.1 s a column at 100,000 saves)."""
    import orjson

    kinds = set(map(type, column))
    lengths: Iterable[int] | None = None
    if kinds <= {str, _NONE}:
        text = "".join(column) if _NONE not in kinds else "".join(v or "" for v in column)
        if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
            # "v" is two bytes longer than v; null is 4
            lengths = (map(len, map(_quoted, column)) if _NONE in kinds
                       else map(operator.add, map(len, column), itertools.repeat(2)))
    elif kinds <= {int, _NONE}:
        lengths = map(len, map(str, column))  # None and null: 4 characters both
    elif kinds <= {list} and not any(column):
        lengths = itertools.repeat(2, len(column))  # []
    if lengths is not None:
        try:
            return orjson.dumps(column), list(lengths), False
        except (orjson.JSONEncodeError, TypeError, ValueError):
            pass  # an integer past 64 bits
    if kinds == {dict}:
        split = _split_dicts(column)
        if split is not None:
            return (*split, False)
    big = False
    try:
        parts = list(map(orjson.dumps, column))
    except (orjson.JSONEncodeError, TypeError, ValueError):
        parts = [_dump_one(v) for v in column]
        big = True  # orjson refuses only integers past 64 bits among the values we store
    joined = b",".join(parts)
    if b"null" in joined:  # a NaN orjson wrote as null? those elements again, by json
        parts = [_dump_one(v) if b"null" in p else p for v, p in zip(column, parts, strict=True)]
        joined = b",".join(parts)
    return b"[" + joined + b"]", list(map(len, parts)), big


_NONE = type(None)


def _split_dicts(column: list[dict[str, Any]]) -> tuple[bytes, list[int]] | None:
    """A column of flat mappings (metrics, params) written in one call and cut at each
    ``},{``: exact when the text holds no brace but the elements' own (no nested mapping, no
    brace inside a string) and no null (a NaN orjson wrote as null is written again)."""
    import orjson

    try:
        text = orjson.dumps(column)
    except (orjson.JSONEncodeError, TypeError, ValueError):
        return None
    n = len(column)
    if not n or b"null" in text or text.count(b"{") != n or text.count(b"}") != n:
        return None
    lengths = list(map(len, text[1:-1].split(b"},{")))
    if len(lengths) != n:
        return None
    lengths = [k + 2 for k in lengths]  # the braces the cut took away
    lengths[0] -= 1  # the first kept its {, the last its }
    lengths[-1] -= 1
    return text, lengths


def _quoted(value: str | None) -> str:
    return "null" if value is None else f'"{value}"'


def _dump_one(value: Any) -> bytes:
    """orjson writes NaN and infinities as null, and refuses integers past 64 bits: those
    (rare) values are written by the standard library, as the version-3 file did."""
    import orjson

    try:
        out = orjson.dumps(value)
    except (orjson.JSONEncodeError, TypeError, ValueError):
        return json.dumps(value).encode()
    return json.dumps(value).encode() if b"null" in out and value is not None else out


@contextmanager
def _no_gc() -> Iterator[None]:
    """The cyclic collector paused: making 100,000 objects (a column parsed, an element
    written each) otherwise sets off collections that walk every object already made (0.4 s
    instead of 0.04 to write the metrics column at 100,000 saves). JSON makes no cycles."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def encode(head: str, columns: dict[str, list[Any]], forged: list[dict[str, str]],
           fields: tuple[str, ...]) -> bytes:
    """The file for these columns (of equal length, ``fields`` in order)."""
    with _no_gc():
        return _encode(head, columns, forged, fields)


def _encode(head: str, columns: dict[str, list[Any]], forged: list[dict[str, str]],
            fields: tuple[str, ...]) -> bytes:
    count = len(columns[fields[0]]) if fields else 0
    pieces, exact = [], []
    for f in fields:
        text, lengths, big = _parts(columns[f])
        if big:
            exact.append(f)
        # element i starts after the [ and every earlier element and its comma
        starts = itertools.accumulate(map(operator.add, lengths, itertools.repeat(1)),
                                      initial=1)
        pieces.append((text, _table(len(text), starts)))
    return _assemble(head, count, forged, fields, pieces, exact)


def _table(size: int, starts: Iterable[int]) -> bytes:
    """Each start as its distance from the end of the column, 8 hex digits big-endian: a
    row added in front (``prepend``) leaves every distance already written as it was."""
    table = array.array("I", map(operator.sub, itertools.repeat(size), starts))
    if sys.byteorder == "little":
        table.byteswap()
    return table.tobytes().hex().encode()


def _assemble(head: str, count: int, forged: list[dict[str, str]], fields: tuple[str, ...],
              pieces: list[tuple[bytes, bytes]], exact: Iterable[str]) -> bytes:
    import orjson

    sections: dict[str, list[int]] = {}
    at = 0
    for f, (text, table) in zip(fields, pieces, strict=True):
        sections[f] = [at, len(text), at + len(text)]
        at += len(text) + len(table)
    header = {"version": VERSION, "head": head, "count": count, "forged": forged,
              "size": at, "sections": sections}
    if exact := sorted(set(exact)):
        header["exact"] = exact
    return orjson.dumps(header) + b"\n" + b"".join(b"".join(p) for p in pieces)


def prepend(found: Layout, head: str, rows: dict[str, list[Any]],
            forged: list[dict[str, str]], fields: tuple[str, ...]) -> bytes | None:
    """The file with ``rows`` (newest first) in front of the open file's, without parsing
    or writing again what it holds: each column is copied as bytes behind the new elements,
    and its start table, counted from the end, is kept as it is. None when the file holds
    no row or its bytes cannot be read (the caller writes the whole file)."""
    with _no_gc():
        pieces, exact = [], set(found.exact)
        for f in fields:
            at, size, table = found.sections[f]
            old = found._read(at, size)
            old_table = found._read(table, (found.count + 1) * _WIDTH)
            if not found.count or old is None or old_table is None or old[:1] != b"[":
                return None
            if not rows[f]:  # nothing new: the same column under a new header
                pieces.append((old, old_table))
                continue
            text, lengths, big = _parts(rows[f])
            if big:
                exact.add(f)
            merged = text[:-1] + b"," + old[1:]
            starts = itertools.accumulate(map(operator.add, lengths, itertools.repeat(1)),
                                          initial=1)
            new = list(itertools.islice(starts, len(lengths)))
            pieces.append((merged, _table(len(merged), new) + old_table))
        count = found.count + len(rows[fields[0]])
        return _assemble(head, count, forged, fields, pieces, exact)


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
    # columns holding an integer past 64 bits: read by the standard library, since orjson
    # reads such an integer back as a float (``list`` would round what ``show`` prints)
    exact: frozenset[str] = frozenset()

    def _read(self, at: int, size: int) -> bytes | None:
        try:
            got = os.pread(self.file.fileno(), size, self.body + at)
        except (OSError, ValueError):
            return None
        return got if len(got) == size else None

    def column(self, field: str) -> Any:
        """The parsed JSON of the field's column (the caller checks it), or None."""
        at, size, _ = self.sections[field]
        with _no_gc():
            return _parsed(self._read(at, size), exact=field in self.exact)

    def cell(self, field: str, row: int) -> tuple[bool, Any]:
        """(True, the parsed element) of ``row`` in the field's column, else (False, None)."""
        at, size, table = self.sections[field]
        if not 0 <= row < self.count:
            return False, None
        pair = self._read(table + row * _WIDTH, 2 * _WIDTH) or b"-"
        try:  # distances from the end of the column
            start, end = size - int(pair[:_WIDTH], 16), size - int(pair[_WIDTH:], 16)
        except ValueError:
            return False, None
        if not 1 <= start < end <= size:
            return False, None
        value = _parsed(self._read(at + start, end - 1 - start), _BAD, field in self.exact)
        return (False, None) if value is _BAD else (True, value)


_BAD = object()  # a cell that failed to read (a cell may hold null)


def _parsed(raw: bytes | None, bad: Any = None, exact: bool = False) -> Any:
    if raw is None:
        return bad
    try:
        return json.loads(raw) if exact else loads(raw)
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
    exact = head.get("exact", [])
    if (sections is None or type(exact) is not list
            or not all(type(f) is str and f in fields for f in exact)):
        return None
    return Layout(oid, count, forged, file, body, sections, frozenset(exact))


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
