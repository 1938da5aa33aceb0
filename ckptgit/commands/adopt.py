from __future__ import annotations

from pathlib import Path

import click

from ckptgit.commands._common import emit_json, json_option


@click.command("adopt")
@click.argument("path", type=click.Path(path_type=str))
@click.option("-n", "--name", required=True, help="Checkpoint name, e.g. 'clf'.")
@click.option("--note", metavar="TEXT", help="Where it came from (default: its .dvc file).")
@json_option
def command(path: str, name: str, note: str | None, as_json: bool) -> None:
    """Make a model that 'dvc add' tracks (PATH.dvc, no sidecar) a first checkpoint.

    pre-commit, pre-receive and verify flag such models: they have no seal and no lineage.
    The bytes must be in the work tree ('dvc checkout PATH.dvc' first).

    \b
    Examples:
      git ckpt adopt models/legacy.pt -n legacy
      git ckpt adopt models/encoder.onnx -n encoder --note "exported by the 2024 pipeline"
    """
    from ckptgit.ops.adopt import adopt
    from ckptgit.repo import Repo

    ckpt = adopt(Repo.open("."), path, name, note, Path.cwd())
    if as_json:
        emit_json(ckpt.to_dict())
        return
    click.echo(f"adopted {ckpt.path} as {ckpt.name} {ckpt.short_id} in commit "
               f"{ckpt.commit[:12]}")
