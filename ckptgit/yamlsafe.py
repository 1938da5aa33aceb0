"""The ONE YAML choice: PyYAML's safe loader and dumper, the C (libyaml) ones when present.

Every YAML ckptgit reads (sidecars, DVC pointers, manifests, config) goes through ``load``, so
no file can build Python objects and every reader parses at the same speed. ``load`` is also
bounded before anything is built: an alias or anchor is refused when the parser meets it (a
342-byte "billion laughs" is refused in microseconds, never expanded), and nesting deeper than
``max_depth`` is refused while composing, so neither libyaml's stack nor Python's is exhausted.
Sizes and messages are ``loader``'s business (``ckptgit/loader.py``).
"""

from __future__ import annotations

import pickle
import re
from collections.abc import Sequence
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.events import AliasEvent, CollectionStartEvent, NodeEvent

Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
YAMLError = yaml.YAMLError
DEPTH = 64


class Refused(yaml.YAMLError):
    """An alias, an anchor, or nesting over the depth: refused, never built."""


class _Bounded(Loader):  # type: ignore[misc,valid-type]
    """libyaml's events, composed by PyYAML's Composer with aliases refused and depth counted."""

    def __init__(self, stream: Any, max_depth: int) -> None:
        super().__init__(stream)
        self.anchors: dict[Any, Any] = {}
        self._depth, self.max_depth = 0, max_depth

    get_single_node = Composer.get_single_node
    compose_document = Composer.compose_document
    compose_scalar_node = Composer.compose_scalar_node
    compose_sequence_node = Composer.compose_sequence_node
    compose_mapping_node = Composer.compose_mapping_node

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, AliasEvent) or (isinstance(event, NodeEvent) and event.anchor):
            raise Refused(_where(event, "holds a YAML alias or anchor (refused: aliases can "
                                        "expand without bound; write the values out)"))
        nested = isinstance(event, CollectionStartEvent)
        self._depth += nested
        try:
            if self._depth > self.max_depth:
                raise Refused(_where(event, _too_deep(self.max_depth)))
            return Composer.compose_node(self, parent, index)
        finally:
            self._depth -= nested


def _where(event: Any, text: str) -> str:
    mark = getattr(event, "start_mark", None)
    return f"{text} at line {mark.line + 1}" if mark is not None else text


def _too_deep(depth: int) -> str:
    return f"is nested deeper than {depth} levels (limits.nesting_depth)"


def load(text: bytes | str, max_depth: int = DEPTH) -> Any:
    """One document, safely and bounded; raises ``YAMLError`` (``Refused`` for the bounds).

    Text without ``&`` and ``*`` cannot hold an anchor or alias: libyaml composes it by itself
    (about 30 % faster, which matters when verify reads every sidecar in history; libyaml stops
    nesting at 1,000 levels) and the depth is checked on the result.
    """
    plain = (b"&" not in text and b"*" not in text) if isinstance(text, bytes) else (
        "&" not in text and "*" not in text)
    loader = Loader(text) if plain else _Bounded(text, max_depth)
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as exc:
        if "maximum nesting depth" in str(exc):  # libyaml's own cap, above ours
            raise Refused(_too_deep(max_depth)) from exc
        raise
    finally:
        loader.dispose()
    if too_deep(data, max_depth):
        raise Refused(_too_deep(max_depth))
    return data


# -- sections: a long history of sidecars repeats its big sections --------------------------
# What ``sidecar.dump`` writes: a block mapping whose keys start lines at column 0; every other
# line is indented, an indentless sequence item, or blank. In such a text a line starting with
# ``key:`` ends whatever came before it (a plain or block scalar cannot continue at column 0 in
# a root mapping; a quote or a flow collection left open makes the part before it fail).
# (Each pattern starts at a "\n", not at "(?m)^": the engine then jumps from line break to
# line break instead of trying every position, 0.8 ms of a 10 KB sidecar.)
_KEY = rb"[a-z_][a-z0-9_]*:(?: |\n|\Z)"
_FIRST = re.compile(_KEY)
_ENTRY = re.compile(rb"\n(?=" + _KEY + rb")")
_ODD_LINE = re.compile(rb"\n(?![ \n]|-(?:[ \n]|\Z)|\Z|" + _KEY + rb")")
_BREAKS = (b"\r", b"\xc2\x85", b"\xe2\x80\xa8", b"\xe2\x80\xa9")  # YAML breaks besides \n
SECTION_MEMO_FROM = 1024  # bytes: smaller entries are parsed together, never remembered...
_MEMO_MAX = 64
_memo: dict[bytes, tuple[Any, bytes]] = {}  # section text -> its parse, and pickled
_SMALL_MAX = 4096  # ... except for a reader that shares (``shared``): then by entry text
_small: dict[bytes, tuple[Any, Any]] = {}  # small entry text -> (key, value)


def load_sections(text: bytes, max_depth: int = DEPTH, shared: bool = False) -> Any:
    """``load(text)``, with each top-level entry of ``SECTION_MEMO_FROM`` bytes or more parsed
    once per distinct text in this process: a run's environment and a model's tensor summary
    are the same in save after save, and are nine tenths of a sidecar. The small entries are
    parsed together, in one pass.

    Only a text in the shape our dumper writes is taken apart (``_sections``). Whenever the
    pieces do not account for every key line exactly once (a key given twice, a quote or a
    flow collection reaching over a key line, a piece that is not a mapping, any error), the
    WHOLE text goes through ``load``: every error and every other shape is exactly ``load``'s.
    Same bounds: aliases refused, depth counted per piece (each is the root mapping with some
    of its keys, so depths are the same).

    Each use of a remembered entry gets its own copy, unless ``shared``: then the entry is
    the memo's own object, for a caller that only reads the document (verify's workers check
    it and keep a few small fields; a copy of the environment and the tensor summary was a
    fifth of their time) and never hands those parts on. A sharing reader also remembers the
    small entries (the code, params, seeds, command and owner repeat save after save; the id,
    times and hashes do not): those seen before are not parsed again, the others still are
    parsed together, and the count of key lines is checked over what was parsed.
    """
    parts = _sections(text)
    if parts is None:
        return load(text, max_depth)
    try:
        found = _assemble(parts, max_depth, shared)
    except (YAMLError, ValueError, OverflowError, TypeError, RecursionError):
        found = None
    return load(text, max_depth) if found is None else found


def _assemble(parts: list[tuple[bytes, bool]], max_depth: int, shared: bool) -> Any:
    """The document from its entries, or None when they do not add up (see ``load_sections``)."""
    known = {i: _small[p] for i, (p, big) in enumerate(parts)
             if shared and not big and p in _small}
    fresh = [i for i, (_, big) in enumerate(parts) if not big and i not in known]
    small = b"".join(parts[i][0] for i in fresh)
    merged = load(small, max_depth) if small else {}
    if not isinstance(merged, dict) or len(merged) != len(fresh):
        return None
    pairs: dict[int, tuple[Any, Any]] = {**known, **dict(zip(fresh, merged.items(), strict=True))}
    for i, (part, big) in enumerate(parts):
        if big:
            value = _load_part(part, max_depth, shared)
            if not isinstance(value, dict) or len(value) != 1:
                return None
            pairs[i] = next(iter(value.items()))
    out = dict(pairs[i] for i in range(len(parts)))  # back in the text's order
    if len(out) != len(parts):
        return None
    if shared:
        _remember_small(parts, fresh, pairs)
    return out


def _remember_small(parts: list[tuple[bytes, bool]], fresh: list[int],
                    pairs: dict[int, tuple[Any, Any]]) -> None:
    """Each small entry's (key, value), by its text: the document added up, so every entry was
    exactly its own key line and what follows it up to the next, and parses alone as it did
    together (no anchors: an entry holding ``&`` or ``*`` is never remembered)."""
    for i in fresh:
        part = parts[i][0]
        if b"&" in part or b"*" in part:
            continue
        if len(_small) >= _SMALL_MAX:
            _small.clear()
        _small[part] = pairs[i]


def _sections(text: bytes) -> list[tuple[bytes, bool]] | None:
    """The text cut before each top-level key: (entry, big); None when the text is not in the
    dumper's shape."""
    if not isinstance(text, bytes) or not _FIRST.match(text) or _ODD_LINE.search(text) \
            or _has_break(text):
        return None
    starts = [0, *(m.start() + 1 for m in _ENTRY.finditer(text)), len(text)]
    return [(text[start:end], end - start >= SECTION_MEMO_FROM)
            for start, end in zip(starts, starts[1:], strict=False)]


def _has_break(text: bytes) -> bool:
    """Whether the text holds a YAML line break other than ``\n`` (``_BREAKS``). Each lead
    byte is looked for first: a one-byte search is a ``memchr``, a search for the two- and
    three-byte sequences is not (30 us of a 10 KB sidecar's 90 us cut, against 2)."""
    return any(b[:1] in text and b in text for b in _BREAKS)


_RESOLVER: Any = None


def plain_kind(value: str) -> str:
    """What a plain (unquoted) scalar ``value`` loads as: ``str``, ``int``, ``float``,
    ``bool``, ``null``, ``timestamp``, ... (the last part of the tag the safe loader's
    resolver gives it)."""
    global _RESOLVER
    if _RESOLVER is None:
        _RESOLVER = yaml.resolver.Resolver()
    table = _RESOLVER.yaml_implicit_resolvers  # looked up by first character, as resolve does
    if value[:1] not in table and None not in table:
        return "str"
    tag: str = _RESOLVER.resolve(yaml.ScalarNode, value, (True, False))
    return tag.rsplit(":", 1)[-1]


def _load_part(part: bytes, max_depth: int, shared: bool = False) -> Any:
    if b"&" in part or b"*" in part:
        return load(part, max_depth)
    hit = _memo.get(part)
    if hit is None:
        value = load(part, max_depth)
        if len(_memo) >= _MEMO_MAX:
            _memo.clear()
        hit = _memo[part] = (value, pickle.dumps(value, pickle.HIGHEST_PROTOCOL))
    if shared:
        return hit[0]
    return pickle.loads(hit[1])  # noqa: S301 - bytes this process pickled itself, never read in


def too_deep(data: Any, max_depth: int) -> bool:
    """Whether maps and lists nest deeper than ``max_depth``, found without recursion."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > max_depth:
                return True
            children = value.values() if isinstance(value, dict) else value
            stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return False


def reads_as_string(value: str) -> bool:
    """Whether a plain (unquoted) scalar ``value`` loads as this string, not null, a bool or a
    number."""
    tag = yaml.resolver.Resolver().resolve(yaml.ScalarNode, value, (True, False))  # type: ignore[no-untyped-call]
    return bool(tag == "tag:yaml.org,2002:str")


def line_of(text: bytes | str, path: Sequence[str | int]) -> int | None:
    """The 1-based line where the node at ``path`` (keys and list indexes) starts, or the
    line of its nearest parent that exists; None when the text does not parse."""
    try:
        node = yaml.compose(text, Loader=Loader)
    except YAMLError:
        return None
    line = node.start_mark.line + 1 if node is not None else None
    for key in path:
        node = _child(node, key)
        if node is None:
            break
        line = node.start_mark.line + 1
    return line


def _child(node: Any, key: str | int) -> Any:
    if isinstance(node, yaml.MappingNode):
        return next((v for k, v in node.value if getattr(k, "value", None) == key), None)
    if isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
        return node.value[key]
    return None


def dump(data: Any, **options: Any) -> str:
    text: str = yaml.dump(data, Dumper=Dumper, **options)
    return text


def has_aliases(text: bytes | str) -> bool:
    """Whether the text uses anchors or aliases, found from the event stream alone (nothing is
    built, so an alias bomb costs no more than its own bytes)."""
    for event in yaml.parse(text, Loader=Loader):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            return True
    return False
