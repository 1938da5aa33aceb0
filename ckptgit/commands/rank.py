from __future__ import annotations

import click

from ckptgit.commands._common import emit_json, fmt_value, json_option, table


@click.command("rank")
@click.option("--name", help="Only checkpoints of this name.")
@click.option("--by", "by", multiple=True, required=True, metavar="METRIC[:min|max]",
              help="Rank by this metric; repeat to break ties. Goal defaults from config/name.")
@click.option("--where", metavar="EXPR",
              help="CEL filter, e.g. 'params.lr < 0.01 && \"ablation\" in labels'.")
@click.option("--top", type=click.IntRange(min=1), metavar="K", help="Only the best K.")
@json_option
def command(name: str | None, by: tuple[str, ...], where: str | None, top: int | None,
            as_json: bool) -> None:
    """Rank checkpoints by metrics, best first.

    Ties are broken by the next --by, then by time (earlier first), so the order is
    repeatable. Checkpoints missing a metric come last. --where sees id, name, step,
    created_at, labels, metrics, params (CEL: https://cel.dev). Comparisons of fields with
    constants joined by &&, ||, ! (and "x" in labels) are compiled and fast on any number of
    checkpoints; other CEL is evaluated by celpy (docs/compare.md).

    \b
    Examples:
      git ckpt rank --by val_loss:min
      git ckpt rank --name clf --by accuracy:max --by latency_ms:min --top 5
      git ckpt rank --by f1 --where 'metrics.f1 > 0.8 && params.optim.lr < 1e-3' --json
    """
    from ckptgit.ops.rank import rank
    from ckptgit.repo import Repo

    criteria, ranked = rank(Repo.open("."), by, name, where, top)
    if as_json:
        emit_json([r.to_dict() for r in ranked])
        return
    if not ranked:
        click.echo("no checkpoint matches", err=True)
        return
    cols = [f"{k.metric} ({k.goal})" for k in criteria]
    rows = [[str(r.rank), r.checkpoint.short_id, r.checkpoint.name,
             "" if r.checkpoint.step is None else str(r.checkpoint.step),
             r.checkpoint.created_at[:19].replace("T", " "),
             *[fmt_value(r.values[k.metric]) if r.values[k.metric] is not None else "—"
               for k in criteria]] for r in ranked]
    table(["#", "id", "name", "step", "created (UTC)", *cols], rows)
