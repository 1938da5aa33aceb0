"""What both callbacks share: metric values made plain, and the tracker they save through."""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ckptgit.api import Tracker


class Settings:
    """What both callbacks are configured with, set once by ``configure``."""

    name: str
    options: dict[str, Any]
    extra_params: dict[str, Any]
    snapshot: bool | None
    wait_at_end: bool
    run: Tracker | None

    def configure(self, name: str, repo: str, data: Sequence[str], labels: Sequence[str],
                  params: Mapping[str, Any] | None, snapshot: bool | None,
                  wait_at_end: bool, eval_data: Sequence[str] = ()) -> None:
        from ckptgit.names import check_name

        self.name = check_name(name)
        self.options = {"repo": repo, "data": data, "labels": labels, "eval_data": eval_data}
        self.extra_params = dict(params or {})
        self.snapshot = snapshot
        self.wait_at_end = wait_at_end
        self.run = None


def plain_metrics(found: Mapping[str, Any]) -> dict[str, float | int]:
    """Numbers only (tensors and numpy scalars as Python numbers); anything else is dropped."""
    out: dict[str, float | int] = {}
    for key, value in found.items():
        if hasattr(value, "item") and getattr(value, "ndim", 0) == 0:
            value = value.item()
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            continue
        out[str(key)] = int(value) if isinstance(value, numbers.Integral) else float(value)
    return out


def latest_logs(history: Iterable[Mapping[str, Any]], step: int,
                skip: Sequence[str] = ("step", "epoch")) -> dict[str, float | int]:
    """The last logged value of every metric at or before ``step``."""
    out: dict[str, float | int] = {}
    for entry in history:
        if int(entry.get("step", 0)) <= step:
            out.update(plain_metrics({k: v for k, v in entry.items() if k not in skip}))
    return out


def tracker(name: str, params: Mapping[str, Any], seeds: Mapping[str, Any],
            options: Mapping[str, Any]) -> Tracker:
    return Tracker(name, params=params, seeds=seeds, data=options.get("data", ()),
                   labels=options.get("labels", ()), repo=options.get("repo", "."),
                   parent=options.get("parent"), eval_data=options.get("eval_data", ()))

