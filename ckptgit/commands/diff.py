from __future__ import annotations

import click

from ckptgit.commands._common import emit_json


@click.command("diff")
@click.argument("a", metavar="A")
@click.argument("b", metavar="[B]", required=False)
@click.option("--weights", is_flag=True,
              help="Also compare weights tensor by tensor (reads, and if needed fetches, bytes).")
@click.option("--only", "only", multiple=True, metavar="SECTIONS",
              help="Comma-separated sections: metrics, params, seeds, data, code, environment, "
                   "tensors, weights, distributions, slices.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text",
              show_default=True, help="Output format; markdown is a pull-request comment.")
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.option("--exit-code", is_flag=True, help="Exit 1 when anything differs (like git diff).")
def command(a: str, b: str | None, weights: bool, only: tuple[str, ...], fmt: str,
            as_json: bool, exit_code: bool) -> int:
    """Show what changed between checkpoints A (old) and B (new), and whether it matters.

    B defaults to the latest checkpoint of A's name; when A is that latest, A's parent is
    compared with it. Only what differs is shown. Weights are read only with --weights.

    \b
    Examples:
      git ckpt diff clf                       # what the latest save of clf changed
      git ckpt diff clf~3 clf --only metrics,params
      git ckpt diff clf#production clf --format markdown > pr-comment.md
      git ckpt diff clf~1 clf --weights
    """
    from ckptgit.compare import render
    from ckptgit.compare.settings import from_raw
    from ckptgit.ops.diff import compare
    from ckptgit.repo import Repo

    repo = Repo.open(".")
    result = compare(repo, a, b, weights=weights, only=only)
    top = from_raw(repo.config.raw).weights_top
    if as_json or fmt == "json":
        emit_json(result.to_dict())
    elif fmt == "markdown":
        click.echo(render.markdown(result, top), nl=False)
    else:
        from rich.console import Console

        console = Console(soft_wrap=True)
        for item in render.text(result, top):
            console.print(item)
    return 1 if exit_code and not result.identical else 0
