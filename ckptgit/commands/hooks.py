from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from ckptgit.commands._common import emit_json, json_option

if TYPE_CHECKING:
    from ckptgit.ops.hooks import Installed
    from ckptgit.ops.precommit import Result as FrameworkResult


@click.group("hooks")
def command() -> None:
    """Manage ckptgit's git hooks."""


@command.command("install")
@click.option("--force", is_flag=True, help="Replace hooks that are not ckptgit's.")
@click.option("--server", "server", metavar="BARE.git", type=click.Path(path_type=Path),
              help="Install pre-receive into this bare repository, with a trusted copy of this "
                   "checkout's .ckpt/config.yaml and signers.")
@click.option("--framework/--no-framework", default=None,
              help="Install through the pre-commit framework (default: when the repository "
                   "uses it: a .pre-commit-config.yaml or pre-commit's hook files).")
@json_option
def install(force: bool, server: Path | None, framework: bool | None, as_json: bool) -> None:
    """Install the client hooks (pre-commit, pre-push), or a server's pre-receive.

    In a repository that uses the pre-commit framework, our hooks are added to
    .pre-commit-config.yaml (a 'repo: local' block) and installed by 'pre-commit install',
    so the checks run once.

    \b
    Examples:
      git ckpt hooks install
      git ckpt hooks install --no-framework --force
      git ckpt hooks install --server /srv/git/models.git
    """
    from ckptgit.ops import hooks

    done = hooks.setup(".", force=force, server=server, framework=framework)
    if done.via == "server":
        _server(done, server)
    elif done.framework is not None:
        _framework(done.framework, as_json)
    elif as_json:
        emit_json({"via": "shims", "installed": done.installed, "kept": done.kept})
    else:
        for name in done.installed:
            click.echo(f"installed {name}")
        for name in done.kept:
            click.echo(f"kept your existing {name} hook (use --force to replace it)", err=True)


def _framework(out: FrameworkResult, as_json: bool) -> None:
    from ckptgit.ops import precommit

    if as_json:
        emit_json({"via": "pre-commit", "config_changed": out.config_changed,
                   "removed": out.shims_removed, "installed": out.installed, "note": out.note})
        return
    click.echo(f"{'added ckptgit hooks to' if out.config_changed else 'kept'} "
               f"{precommit.CONFIG}" + ("" if out.config_changed else " (already has them)"))
    for name in out.shims_removed:
        click.echo(f"removed our {name} shim: pre-commit runs the checks now")
    if out.installed:
        click.echo("installed through pre-commit (pre-commit, pre-push)")
    if out.note:
        click.echo(f"warning: {out.note}", err=True)


def _server(done: Installed, server: Path | None) -> None:
    from ckptgit.governance.refupdates import TRUSTED_DIR

    if done.copied is None:
        click.echo(f"kept the existing pre-receive hook of {server} (use --force to replace "
                   "it)", err=True)
        return
    click.echo(f"installed pre-receive in {done.server_dir}")
    click.echo(f"trusted copy of {', '.join(done.copied)} in "
               f"{Path(str(done.server_dir)) / TRUSTED_DIR}")
