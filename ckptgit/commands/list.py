from __future__ import annotations

from typing import Any

import click

from ckptgit.commands._common import emit_json, fmt_value, json_option, table


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
    from ckptgit.ops.list import listing, stage_map
    from ckptgit.ops.prune import pruned
    from ckptgit.repo import Repo

    repo = Repo.open(".")
    entries = listing(repo, name, limit)
    held = stage_map(repo)
    gone = pruned(repo)
    if as_json:
        rows: list[dict[str, Any]] = []
        for c in entries:
            row = c.to_dict()
            row["stages"] = sorted(held.get(f"{c.name}@{c.commit}", []))
            row["pruned"] = c.id in gone
            rows.append(row)
        emit_json(rows)
        return
    if not entries:
        click.echo("no checkpoints yet: save one with 'git ckpt save PATH --name NAME'", err=True)
        return
    keys = list(repo.config.key_metrics)
    if not keys:
        seen: dict[str, None] = {}
        for c in entries:
            for k, v in c.metrics.items():
                if not isinstance(v, dict):
                    seen.setdefault(k)
        keys = list(seen)[:3]
    rows_txt = [
        [c.short_id, c.name, "" if c.step is None else str(c.step),
         c.created_at[:19].replace("T", " "),
         *[fmt_value(c.metrics.get(k, "")) for k in keys],
         ",".join(sorted(held.get(f"{c.name}@{c.commit}", []))),
         *(["pruned" if c.id in gone else ""] if gone else [])]
        for c in entries
    ]
    table(["id", "name", "step", "created (UTC)", *keys, "stages",
           *(["bytes"] if gone else [])], rows_txt)
