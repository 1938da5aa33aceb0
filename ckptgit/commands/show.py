from __future__ import annotations

import click

from ckptgit.commands._common import emit_json, json_option


@click.command("show")
@click.argument("ref")
@json_option
def command(ref: str, as_json: bool) -> None:
    """Show everything recorded about checkpoint REF (its sidecar, commit and stages).

    \b
    Examples:
      git ckpt show clf
      git ckpt show clf~2 --json
      git ckpt show 0193f2a1
    """
    from ckptgit import sidecar
    from ckptgit.ops.show import full
    from ckptgit.repo import Repo

    doc = full(Repo.open("."), ref)
    if as_json:
        emit_json(doc)
        return
    click.echo(sidecar.dump(doc), nl=False)
