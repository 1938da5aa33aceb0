"""The keys an index row holds, read from a sidecar in the one form ckptgit writes it.

A cold index rebuild reads every sidecar in history (100,000 of them at scale), and a YAML
parse of each was nearly all of it. ``row_keys`` reads the keys a row needs straight from the
text when, and only when, the text is exactly in the block form ``sidecar.dump`` writes, and
answers None ("ask YAML") for anything else. It never answers what YAML would not:

- the text is taken apart only in the dumper's shape (every line indented, a block-sequence
  item or a ``key:`` line at column 0, no YAML line break but ``\\n``), each top-level key
  once;
- the entries a row holds are read by a strict grammar: block mappings indented by two,
  indentless sequences of scalars, ``{}`` and ``[]``, plain scalars typed by the safe
  loader's own resolver (only types whose construction cannot fail), one-line single-quoted
  ASCII strings. A comment, a tag, an anchor or alias, a flow collection, a double quote, a
  wrapped line, a key at an odd indent: anything else means None;
- every other entry must hold the same grammar or parse alone, with the bounded loader, as a
  mapping of its one key (remembered per text: an environment or tensor summary repeats save
  after save), so an alias, a tag, a quote left open, nesting over the limit, or any error
  anywhere in the text still sends the whole of it to YAML;
- a text over ``limits.sidecar_bytes`` or nested deeper than ``limits.nesting_depth`` is
  YAML's to refuse.

``tests/test_sidecar_keys.py`` holds it to the YAML answer on generated and hostile sidecars.
"""

from __future__ import annotations

import re
from typing import Any

from ckptgit import limits, sidecar, yamlsafe

# what ``Checkpoint.from_sidecar`` reads
ROW_KEYS = frozenset(("schema_version", "id", "name", "created_at", "artifact", "step",
                      "parent", "labels", "metrics", "params"))
_REQUIRED = frozenset(("id", "name", "created_at", "artifact"))

_CH = r"[A-Za-z0-9_./+=@()-]"
_PLAIN = re.compile(rf"(?:[A-Za-z0-9_]|[-.](?=[0-9])){_CH}*(?: +{_CH}+)*")
_QUOTED = re.compile(r"'((?:[ -&(-~]|'')*)'")  # printable ASCII, a quote doubled
_ENTRY = re.compile(rf"( *)({_PLAIN.pattern}):(?: (.+))?")
_FLAT = re.compile(r"(?:  [^ \n-][^\n]*\n)+")
_FLAT_LINE = re.compile(rf"  ({_PLAIN.pattern}): (.+)")
_INT = re.compile(r"-?(?:0|[1-9][0-9]*)")
_FLOAT = re.compile(r"-?[0-9]+\.[0-9]+(?:e[-+][0-9]+)?")
_BOOLS = {"true": True, "yes": True, "on": True, "false": False, "no": False, "off": False}
_KINDS: dict[str, str] = {}  # plain scalar -> what it loads as (keys and values repeat)
# (key, depth held to) -> entry texts checked before (an environment repeats save after save)
_PARSED: dict[tuple[str, int], list[bytes]] = {}
# the dumper's shape: a top-level entry starts with ``key:`` at column 0 and runs to the next
_KEY_LINE = re.compile(rb"([a-z_][a-z0-9_]*):[ \n]")
_NEXT_KEY = re.compile(rb"\n(?=[a-z_][a-z0-9_]*:[ \n])")
# inside an entry, every line after its first is indented or a block-sequence item
_ODD_LINE = re.compile(rb"\n(?! |- )")
_BREAKS = (b"\r", b"\xc2\x85", b"\xe2\x80\xa8", b"\xe2\x80\xa9")  # YAML's, besides \n
_MEMO_MAX = 64  # entries, and at most _MEMO_BYTES of them (a hostile history holds 4 MB ones)
_MEMO_BYTES = 8 << 20
_MEMO_FROM = 512  # bytes


class _Unsure(Exception):
    """The text leaves the strict grammar: YAML decides."""


_DEEPEST = 64  # our writer nests a few levels; a deeper text goes to YAML


def row_keys(raw: bytes) -> dict[str, Any] | None:
    """The sidecar's top-level entries that a row reads (``ROW_KEYS``), exactly as the
    bounded YAML loader gives them; None whenever the text is not in the exact form."""
    bound = limits.active()
    # only the current schema: an older one is migrated on the YAML path (read at each call,
    # so a new version can never be answered unmigrated)
    head = b"schema_version: %d\n" % sidecar.CURRENT_VERSION
    if len(raw) > bound.sidecar_bytes or not raw.startswith(head) or bound.nesting_depth < 2:
        return None
    # libyaml refuses nesting past its own cap (about 1,000 levels) whatever the limit
    # allows, and Python's recursion limit may be raised by another library: deeper than
    # ``_DEEPEST`` is YAML's to answer, so both readers refuse the same texts
    depth = min(bound.nesting_depth, _DEEPEST)
    doc: dict[str, Any] = {}
    seen: set[str] = set()
    pos = 0
    try:
        while pos < len(raw):
            pos = _next_entry(raw, pos, seen, doc, depth)
    except (_Unsure, ValueError, KeyError, IndexError, RecursionError):
        return None  # anything unforeseen included: YAML decides (a limit may allow deep text)
    return doc if _REQUIRED <= doc.keys() else None


def _next_entry(raw: bytes, pos: int, seen: set[str], doc: dict[str, Any],
                max_depth: int) -> int:
    """Read the top-level entry at ``pos`` (into ``doc`` when a row holds it); where the next
    one starts. An entry ends before the next line that starts a key."""
    m = _KEY_LINE.match(raw, pos)
    if m is None:
        raise _Unsure
    key = m.group(1).decode("ascii")
    if key in seen:
        raise _Unsure
    seen.add(key)
    if key not in ROW_KEYS:
        known = _known(raw, pos, key, max_depth)
        if known is not None:
            return known
    nxt = _NEXT_KEY.search(raw, m.end() - 1)
    stop = nxt.start() + 1 if nxt is not None else len(raw)
    piece = raw[pos:stop]
    if key in ROW_KEYS:
        doc[key] = _entry(piece, key, max_depth)
    else:
        _check_entry(piece, key, max_depth)
    return stop


def _known(raw: bytes, pos: int, key: str, max_depth: int) -> int | None:
    """Where an entry checked before ends, when one starts at ``pos`` and ends where an
    entry does (a remembered text may be the start of a longer one)."""
    for piece in _PARSED.get((key, max_depth), ()):
        if raw.startswith(piece, pos):
            end = pos + len(piece)
            if end == len(raw) or _KEY_LINE.match(raw, end):
                return end
    return None


def _entry(piece: bytes, key: str, max_depth: int) -> Any:
    """The value of a top-level entry in the strict grammar (``_Unsure`` when it is not)."""
    text = piece.decode("ascii")
    if _kind(key) != "str" or not text.endswith("\n"):
        raise _Unsure
    if text.count("\n") == 1:  # ``key: value`` on one line, the common case
        if text[len(key) + 1] != " ":
            raise _Unsure
        return _value([], 0, text[len(key) + 2:-1], 0, 1, max_depth)[0]
    lines = text.split("\n")
    lines.pop()
    if text[len(key) + 1] == "\n" and _FLAT.fullmatch(text, len(key) + 2):  # ``key:`` over
        # lines ``  name: value`` and nothing else
        return _flat(lines, max_depth)
    parsed, end = _mapping(lines, 0, 0, 1, max_depth)
    if end != len(lines) or list(parsed) != [key]:
        raise _Unsure
    return parsed[key]


def _flat(lines: list[str], max_depth: int) -> dict[str, Any]:
    """A mapping of one-line values at indent two, the entry's first line left out: what
    ``_mapping`` gives for it, in one loop."""
    if max_depth < 2:
        raise _Unsure
    out: dict[str, Any] = {}
    for line in lines[1:]:
        m = _FLAT_LINE.fullmatch(line)
        if m is None:
            raise _Unsure
        name, rest = m.group(1), m.group(2)
        if name in out or _kind(name) != "str":
            raise _Unsure
        if rest in ("{}", "[]"):
            if max_depth < 3:
                raise _Unsure
            out[name] = {} if rest == "{}" else []
        else:
            out[name] = _scalar(rest)
    return out


def _check_entry(piece: bytes, key: str, max_depth: int) -> None:
    """An entry the row does not read: it must still be one YAML would read as ``key``.
    Big ones, and those YAML had to read, are remembered (small ones in the grammar, such as
    ``code``, differ from save to save and cost little)."""
    big = len(piece) >= _MEMO_FROM
    try:
        _entry(piece, key, max_depth)
    except (_Unsure, UnicodeDecodeError):
        _parse_alone(piece, key, max_depth)
        big = True  # a parse is worth remembering whatever the size
    if big and len(piece) <= _MEMO_BYTES // 8:
        held = [p for pieces in _PARSED.values() for p in pieces]
        if len(held) >= _MEMO_MAX or sum(map(len, held)) + len(piece) > _MEMO_BYTES:
            _PARSED.clear()
        _PARSED.setdefault((key, max_depth), []).append(piece)


def _parse_alone(piece: bytes, key: str, max_depth: int) -> None:
    """The entry parsed by itself: only in the dumper's shape (no line at column 0 but its
    own, no YAML line break but ``\n``) is that what the whole text's parse holds for it."""
    if not piece.endswith(b"\n") or _ODD_LINE.search(piece, 0, len(piece) - 1) \
            or any(b in piece for b in _BREAKS):
        raise _Unsure
    try:
        parsed = yamlsafe.load(piece, max_depth)
    except (yamlsafe.YAMLError, ValueError, OverflowError, TypeError, RecursionError) as exc:
        raise _Unsure from exc
    if type(parsed) is not dict or list(parsed) != [key]:
        raise _Unsure


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _mapping(lines: list[str], i: int, indent: int, depth: int,
             max_depth: int) -> tuple[dict[str, Any], int]:
    """A block mapping whose keys sit at ``indent`` from line ``i``: (it, the line after)."""
    if depth > max_depth:
        raise _Unsure
    out: dict[str, Any] = {}
    while i < len(lines) and _indent(lines[i]) >= indent:
        m = _ENTRY.fullmatch(lines[i])
        if m is None or len(m.group(1)) != indent:
            raise _Unsure
        key = m.group(2)
        if key in out or _kind(key) != "str":
            raise _Unsure
        out[key], i = _value(lines, i + 1, m.group(3), indent, depth, max_depth)
    return out, i


def _value(lines: list[str], i: int, rest: str | None, indent: int, depth: int,
           max_depth: int) -> tuple[Any, int]:
    """The value after ``key:`` (``rest`` on its line, or the block below it)."""
    if rest in ("{}", "[]"):
        if depth + 1 > max_depth:
            raise _Unsure
        return ({} if rest == "{}" else []), i
    if rest is not None:
        return _scalar(rest), i
    if i < len(lines) and lines[i].startswith(" " * indent + "- "):
        return _sequence(lines, i, indent, depth + 1, max_depth)
    if i < len(lines) and _indent(lines[i]) == indent + 2:
        return _mapping(lines, i, indent + 2, depth + 1, max_depth)
    raise _Unsure  # an empty value (null): never written by the dumper


def _sequence(lines: list[str], i: int, indent: int, depth: int,
              max_depth: int) -> tuple[list[Any], int]:
    """An indentless block sequence of scalars (``- x`` at the key's own indent)."""
    if depth > max_depth:
        raise _Unsure
    items = []
    prefix = " " * indent + "- "
    while i < len(lines) and lines[i].startswith(prefix):
        items.append(_scalar(lines[i][len(prefix):]))
        i += 1
    if i < len(lines) and _indent(lines[i]) > indent:
        raise _Unsure
    return items, i


def _scalar(text: str) -> Any:
    """A one-line scalar as the safe loader constructs it."""
    if text.startswith("'"):
        m = _QUOTED.fullmatch(text)
        if m is None:
            raise _Unsure
        return m.group(1).replace("''", "'")
    if _PLAIN.fullmatch(text) is None:
        raise _Unsure
    kind = _kind(text)
    if kind == "str":
        return text
    if kind == "int" and _INT.fullmatch(text):
        return int(text)
    if kind == "float" and _FLOAT.fullmatch(text):
        return float(text)
    if kind == "bool":
        return _BOOLS[text.lower()]
    if kind == "null":
        return None
    raise _Unsure  # timestamps, octal, sexagesimal, ...: the loader's own constructors


def _kind(value: str) -> str:
    kind = _KINDS.get(value)
    if kind is None:
        kind = yamlsafe.plain_kind(value)
        if len(_KINDS) < 4096 and len(value) <= 64:  # names and short values, bounded
            _KINDS[value] = kind
    return kind
