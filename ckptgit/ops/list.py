"""``git ckpt list``: checkpoints newest first, with the stages each holds."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ckptgit.model import Checkpoint
from ckptgit.ops.show import stage_map
from ckptgit.repo import Repo
from ckptgit.saves import FIELDS, Saves

__all__ = ["Listing", "listed", "listing", "stage_map"]


@dataclass(frozen=True)
class Listing:
    """The saves a listing shows, as row numbers into the index's columns: a listing of
    100,000 saves is printed column by column without building a row object each."""

    saves: Saves
    order: list[int]

    def __len__(self) -> int:
        return len(self.order)

    def column(self, field: str) -> list[Any]:
        col = self.saves.column(field)
        if self._in_order:  # the usual listing: every save, already newest first
            return list(col)
        return list(map(col.__getitem__, self.order))

    @cached_property
    def _in_order(self) -> bool:
        return len(self.order) == len(self.saves) and self.order == list(range(len(self.order)))

    def rows(self) -> list[Checkpoint]:
        return self.saves.rows(self.order)

    def documents(self) -> list[dict[str, Any]]:
        """``Checkpoint.to_dict`` of every listed save, made from the columns without a row
        object each. Metrics and params are the index's own, not copies: for printing."""
        out = []
        for values in zip(*(self.column(f) for f in FIELDS), strict=True):
            doc = dict(zip(FIELDS, values, strict=True))
            doc["labels"] = list(doc["labels"])
            doc["artifact"] = {"path": doc["path"], "md5": doc["md5"], "sha256": doc["sha256"],
                               "size": doc["size"]}
            out.append(doc)
        return out


def listed(repo: Repo, name: str | None = None, limit: int | None = None) -> Listing:
    """Newest first by creation time; history order breaks ties."""
    saves = repo.saves()
    order = saves.newest_first(name)
    return Listing(saves, order[:limit] if limit is not None else order)


def listing(repo: Repo, name: str | None = None, limit: int | None = None) -> list[Checkpoint]:
    """``listed`` as checkpoints."""
    return listed(repo, name, limit).rows()
