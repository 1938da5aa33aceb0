"""The genuine saves as columns: one list per field, a ``Checkpoint`` built only when read.

At 100,000 saves, building every row as an object cost more than reading the index; a listing
prints some of them and a reference resolves one. ``Saves`` is a read-only sequence of
``Checkpoint`` (callers that walk every save keep working) with the lookups readers need
(by name, id prefix, commit) answered from the columns.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol, overload

from ckptgit.model import Checkpoint

FIELDS = ("id", "name", "commit", "created_at", "path", "sha256", "md5", "size", "step",
          "parent", "labels", "metrics", "params")

_NONE = type(None)
# the Python types each column may hold: a column holding anything else is not trusted
TYPES: dict[str, frozenset[type]] = {
    **{f: frozenset({str}) for f in ("id", "name", "commit", "created_at", "path", "sha256",
                                     "md5")},
    "size": frozenset({int}), "step": frozenset({int, _NONE}),
    "parent": frozenset({str, _NONE}), "labels": frozenset({list, tuple}),
    "metrics": frozenset({dict}), "params": frozenset({dict}),
}


def typed_column(field: str, col: Any, count: int) -> bool:
    """``col`` is a list of ``count`` values of the field's types."""
    if type(col) is not list or len(col) != count or not set(map(type, col)) <= TYPES[field]:
        return False
    return field != "labels" or {type(x) for row in col for x in row} <= {str}


def typed_cell(field: str, value: Any) -> bool:
    if type(value) not in TYPES[field]:
        return False
    return field != "labels" or all(type(x) is str for x in value)


class Source(Protocol):
    """Where columns not yet read come from (the index file): each answer is checked here."""

    count: int

    def column(self, field: str) -> Any: ...

    def cell(self, field: str, row: int) -> tuple[bool, Any]: ...

    def repair(self) -> dict[str, list[Any]]:
        """Every column, rebuilt from history: what is used once anything read is wrong."""
        ...


class Saves(Sequence[Checkpoint]):
    """Saves newest first in history order, as ``FIELDS`` columns of equal length.

    Columns come whole (``of``, a rebuild) or from a ``Source`` (the index file) as they are
    first used; a row is then built from one cell of each column, so resolving a name reads
    the name and time columns and one cell of the rest. The first column or cell the source
    cannot vouch for replaces every column with the source's repair (a rebuild from history).
    The columns are shared, not copied: treat them as read-only.
    """

    __slots__ = ("_cols", "_rows", "_src")

    def __init__(self, columns: dict[str, list[Any]], source: Source | None = None) -> None:
        self._cols = columns
        self._rows: dict[int, Checkpoint] = {}
        self._src = source

    @classmethod
    def of(cls, entries: Iterable[Checkpoint]) -> Saves:
        rows = list(entries)
        return cls({f: [getattr(c, f) for c in rows] for f in FIELDS})

    def column(self, field: str) -> list[Any]:
        col = self._cols.get(field)
        if col is None and self._src is not None:
            got = self._src.column(field)
            if typed_column(field, got, self._src.count):
                col = self._cols[field] = got
            else:
                self._repair()
        return col if col is not None else self._cols[field]

    @property
    def source(self) -> Source | None:
        """Where unread columns still come from (None once every column is here)."""
        return self._src

    def _repair(self) -> None:
        if self._src is not None:
            self._cols, self._src = self._src.repair(), None
            self._rows.clear()

    def __len__(self) -> int:
        return self._src.count if self._src is not None else len(self._cols["id"])

    @overload
    def __getitem__(self, i: int) -> Checkpoint: ...

    @overload
    def __getitem__(self, i: slice) -> list[Checkpoint]: ...

    def __getitem__(self, i: int | slice) -> Checkpoint | list[Checkpoint]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        row = self._rows.get(i)
        if row is None:
            row = self._rows[i] = self._build(i)
        return row

    def __iter__(self) -> Iterator[Checkpoint]:
        cache = self._rows
        columns = [self.column(f) for f in FIELDS]
        for i, values in enumerate(zip(*columns, strict=True)):
            row = cache.get(i)
            if row is None:
                row = cache[i] = _make(values)
            yield row

    def rows(self, indices: Iterable[int]) -> list[Checkpoint]:
        return [self[i] for i in indices]

    def _build(self, i: int) -> Checkpoint:
        src = self._src
        if src is None:  # every column is here
            return _make(tuple(self._cols[f][i] for f in FIELDS))
        values = []
        for f in FIELDS:
            col = self._cols.get(f)
            if col is not None:
                values.append(col[i])
                continue
            ok, value = src.cell(f, i)
            if not ok or not typed_cell(f, value):
                self._repair()
                return self[i]  # a repair may change the count: IndexError, not a wrong row
            values.append(value)
        return _make(tuple(values))

    # -- lookups from the columns, without building rows ----------------------------------
    def newest_first(self, name: str | None = None) -> list[int]:
        """Row numbers by creation time, newest first; history order breaks ties."""
        created = self.column("created_at")
        if name is None:
            picked: Iterable[int] = range(len(self))
        else:
            picked = [i for i, n in enumerate(self.column("name")) if n == name]
        return sorted(picked, key=created.__getitem__, reverse=True)

    def named(self, name: str) -> list[Checkpoint]:
        """Saves of ``name``, newest first by creation time."""
        return self.rows(self.newest_first(name))

    def names(self) -> list[str]:
        return list(dict.fromkeys(self.column("name")))

    def with_id_prefix(self, prefix: str) -> list[Checkpoint]:
        return self.rows(i for i, x in enumerate(self.column("id")) if x.startswith(prefix))

    def at_commit(self, commit: str) -> list[Checkpoint]:
        return self.rows(i for i, x in enumerate(self.column("commit")) if x == commit)

    def with_id(self, ckpt_id: str) -> Checkpoint | None:
        found = next((i for i, x in enumerate(self.column("id")) if x == ckpt_id), None)
        return None if found is None else self[found]


def _make(values: tuple[Any, ...]) -> Checkpoint:
    # the frozen constructor sets each field through object.__setattr__; filling the
    # instance's dict gives the same object several times faster (as from_dict does)
    fields = dict(zip(FIELDS, values, strict=True))
    fields["labels"] = tuple(fields["labels"])
    obj = object.__new__(Checkpoint)
    object.__setattr__(obj, "__dict__", fields)
    return obj
