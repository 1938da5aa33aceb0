"""The genuine saves as columns: one list per field, a ``Checkpoint`` built only when read.

At 100,000 saves, building every row as an object cost more than reading the index; a listing
prints some of them and a reference resolves one. ``Saves`` is a read-only sequence of
``Checkpoint`` (callers that walk every save keep working) with the lookups readers need
(by name, id prefix, commit) answered from the columns.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, overload

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


def well_typed(columns: dict[str, Any]) -> int | None:
    """The number of rows when every field is a list of that length holding only its types
    (labels: lists of strings), else None. Set-of-types scans run at C speed."""
    count: int | None = None
    for f in FIELDS:
        col = columns.get(f)
        if type(col) is not list or (count is not None and len(col) != count):
            return None
        count = len(col)
        if not set(map(type, col)) <= TYPES[f]:
            return None
    labels = columns["labels"]
    if not {type(x) for row in labels for x in row} <= {str}:
        return None
    return count


class Saves(Sequence[Checkpoint]):
    """Saves newest first in history order, as ``FIELDS`` columns of equal length.

    The columns are shared, not copied: treat them as read-only.
    """

    __slots__ = ("_cols", "_rows")

    def __init__(self, columns: dict[str, list[Any]]) -> None:
        self._cols = columns
        self._rows: dict[int, Checkpoint] = {}

    @classmethod
    def of(cls, entries: Iterable[Checkpoint]) -> Saves:
        rows = list(entries)
        return cls({f: [getattr(c, f) for c in rows] for f in FIELDS})

    def column(self, field: str) -> list[Any]:
        return self._cols[field]

    def __len__(self) -> int:
        return len(self._cols["id"])

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
        for i, values in enumerate(zip(*(self._cols[f] for f in FIELDS), strict=True)):
            row = cache.get(i)
            if row is None:
                row = cache[i] = _make(values)
            yield row

    def rows(self, indices: Iterable[int]) -> list[Checkpoint]:
        return [self[i] for i in indices]

    def _build(self, i: int) -> Checkpoint:
        return _make(tuple(self._cols[f][i] for f in FIELDS))

    # -- lookups from the columns, without building rows ----------------------------------
    def newest_first(self, name: str | None = None) -> list[int]:
        """Row numbers by creation time, newest first; history order breaks ties."""
        created = self._cols["created_at"]
        if name is None:
            picked: Iterable[int] = range(len(self))
        else:
            picked = [i for i, n in enumerate(self._cols["name"]) if n == name]
        return sorted(picked, key=created.__getitem__, reverse=True)

    def named(self, name: str) -> list[Checkpoint]:
        """Saves of ``name``, newest first by creation time."""
        return self.rows(self.newest_first(name))

    def names(self) -> list[str]:
        return list(dict.fromkeys(self._cols["name"]))

    def with_id_prefix(self, prefix: str) -> list[Checkpoint]:
        return self.rows(i for i, x in enumerate(self._cols["id"]) if x.startswith(prefix))

    def at_commit(self, commit: str) -> list[Checkpoint]:
        return self.rows(i for i, x in enumerate(self._cols["commit"]) if x == commit)

    def with_id(self, ckpt_id: str) -> Checkpoint | None:
        found = next((i for i, x in enumerate(self._cols["id"]) if x == ckpt_id), None)
        return None if found is None else self[found]


def _make(values: tuple[Any, ...]) -> Checkpoint:
    # the frozen constructor sets each field through object.__setattr__; filling the
    # instance's dict gives the same object several times faster (as from_dict does)
    fields = dict(zip(FIELDS, values, strict=True))
    fields["labels"] = tuple(fields["labels"])
    obj = object.__new__(Checkpoint)
    object.__setattr__(obj, "__dict__", fields)
    return obj
