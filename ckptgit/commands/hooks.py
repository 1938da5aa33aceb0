from __future__ import annotations

from pathlib import Path

import click

from ckptgit.commands._common import emit_json, json_option
from ckptgit.git import Git


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

    git = Git.discover(".")
    if server is not None:
        _server(git, server, force)
        return
    from ckptgit.ops import precommit

    if framework or (framework is None and precommit.detected(git)):
        _framework(git, as_json)
        return
    done = hooks.install(git, force=force)
    skipped = [h for h in hooks.CLIENT_HOOKS if h not in done]
    if as_json:
        emit_json({"via": "shims", "installed": done, "kept": skipped})
        return
    for name in done:
        click.echo(f"installed {name}")
    for name in skipped:
        click.echo(f"kept your existing {name} hook (use --force to replace it)", err=True)


def _framework(git: Git, as_json: bool) -> None:
    from ckptgit.ops import precommit

    out = precommit.install(git)
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


def _server(git: Git, server: Path, force: bool) -> None:
    from ckptgit.governance.refupdates import TRUSTED_DIR
    from ckptgit.ops import hooks

    bare = Git.bare(server)
    copied = hooks.install_server(git, bare, force)
    if copied is None:
        click.echo(f"kept the existing pre-receive hook of {server} (use --force to replace "
                   "it)", err=True)
        return
    click.echo(f"installed pre-receive in {bare.git_dir}")
    click.echo(f"trusted copy of {', '.join(copied)} in {bare.git_dir / TRUSTED_DIR}")
