from __future__ import annotations

import itertools
import operator
from typing import Any

import click

from ckptgit.commands._common import (
    emit_json,
    fmt_value,
    json_option,
    may_hide_nan,
    table_columns,
)


@click.command("list")
@click.option("--name", help="Only checkpoints of this name.")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many.")
@json_option
def command(name: str | None, limit: int | None, as_json: bool) -> None:
    """List checkpoints reachable from HEAD, newest first.

    \b
    Examples:
      git ckpt list
      git ckpt list --name clf --limit 5
      git ckpt list --json | jq '.[0].metrics'
    """
    from ckptgit.ops.list import listed, stage_map
    from ckptgit.ops.prune import pruned
    from ckptgit.repo import Repo

    repo = Repo.open(".")
    view = listed(repo, name, limit)
    held = stage_map(repo)
    gone = pruned(repo)
    if as_json:
        rows = view.documents()
        for row in rows:
            key = f"{row['name']}@{row['commit']}"
            row["stages"] = sorted(held[key]) if key in held else []
            row["pruned"] = row["id"] in gone
        # only metrics and params can hold a float: when orjson's form of them holds no null,
        # no NaN hides behind one, and the whole document needs no scan for it
        emit_json(rows, floats=may_hide_nan([view.column("metrics"), view.column("params")]))
        return
    if not len(view):
        click.echo("no checkpoints yet: save one with 'git ckpt save PATH --name NAME'", err=True)
        return
    metrics = view.column("metrics")
    keys = list(repo.config.key_metrics) or _first_keys(metrics, 3)
    names, commits, ids = view.column("name"), view.column("commit"), view.column("id")
    steps = view.column("step")
    cols = [
        [i[:8] for i in ids], names,
        list(map(str, steps)) if None not in steps else ["" if s is None else str(s)
                                                         for s in steps],
        [c[:19].replace("T", " ") for c in view.column("created_at")],
        *[_formatted(list(map(operator.methodcaller("get", k, ""), metrics))) for k in keys],
        _stages(held, names, commits),
        *([["pruned" if i in gone else "" for i in ids]] if gone else []),
    ]
    table_columns(["id", "name", "step", "created (UTC)", *keys, "stages",
                   *(["bytes"] if gone else [])], cols)


def _stages(held: dict[str, list[str]], names: list[str], commits: list[str]) -> list[str]:
    """The stages column: each holder (a few per name) found by its commit, instead of a
    ``NAME@COMMIT`` key made for every row."""
    out = [""] * len(commits)
    wanted: dict[str, list[tuple[str, str]]] = {}
    for key, stages in held.items():
        name, _, commit = key.rpartition("@")
        wanted.setdefault(commit, []).append((name, ",".join(sorted(stages))))
    for i, commit in enumerate(commits) if len(wanted) > 64 else _rows_of(commits, wanted):
        for name, shown in wanted.get(commit, ()):
            if names[i] == name:
                out[i] = shown
    return out


def _rows_of(commits: list[str], wanted: dict[str, Any]) -> list[tuple[int, str]]:
    """(row, commit) of every row whose commit is wanted, by C-speed scans of the column."""
    found = []
    for commit in wanted:
        i = -1
        while True:
            try:
                i = commits.index(commit, i + 1)
            except ValueError:
                break
            found.append((i, commit))
    return found


def _formatted(values: list[Any]) -> list[str]:
    """``fmt_value`` of each value; a column of floats only is formatted in one C map."""
    if set(map(type, values)) == {float}:
        return list(map("{:.4g}".format, values))  # fmt_value's form, one C map
    return list(map(fmt_value, values))


def _first_keys(metrics: list[dict[str, Any]], n: int) -> list[str]:
    """The first ``n`` metric names with a scalar value, in listing order. With no mapping
    among the values, that is the first ``n`` keys in order, found without a Python loop
    over every row (a listing with fewer than ``n`` metric names walks them all)."""
    values = itertools.chain.from_iterable(map(dict.values, metrics))
    if not any(issubclass(t, dict) for t in set(map(type, values))):
        return list(dict.fromkeys(itertools.chain.from_iterable(metrics)))[:n]
    seen: dict[str, None] = {}
    for m in metrics:
        for k, v in m.items():
            if not isinstance(v, dict):
                seen.setdefault(k)
        if len(seen) >= n:
            break
    return list(seen)[:n]
