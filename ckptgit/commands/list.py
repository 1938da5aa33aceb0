from __future__ import annotations

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
    cols = [
        [i[:8] for i in ids], names,
        ["" if s is None else str(s) for s in view.column("step")],
        [c[:19].replace("T", " ") for c in view.column("created_at")],
        *[[fmt_value(m.get(k, "")) for m in metrics] for k in keys],
        [",".join(sorted(held[f"{n}@{c}"])) if f"{n}@{c}" in held else ""
         for n, c in zip(names, commits, strict=True)],
        *([["pruned" if i in gone else "" for i in ids]] if gone else []),
    ]
    table_columns(["id", "name", "step", "created (UTC)", *keys, "stages",
                   *(["bytes"] if gone else [])], cols)


def _first_keys(metrics: list[dict[str, Any]], n: int) -> list[str]:
    """The first ``n`` metric names with a scalar value, in listing order."""
    seen: dict[str, None] = {}
    for m in metrics:
        for k, v in m.items():
            if not isinstance(v, dict):
                seen.setdefault(k)
        if len(seen) >= n:
            break
    return list(seen)[:n]
