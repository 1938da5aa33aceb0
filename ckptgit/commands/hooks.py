from __future__ import annotations

from pathlib import Path

import click

from ckptgit.git import Git


@click.group("hooks")
def command() -> None:
    """Manage ckptgit's git hooks."""


@command.command("install")
@click.option("--force", is_flag=True, help="Replace hooks that are not ckptgit's.")
@click.option("--server", "server", metavar="BARE.git", type=click.Path(path_type=Path),
              help="Install pre-receive into this bare repository, with a trusted copy of this "
                   "checkout's .ckpt/config.yaml and signers.")
def install(force: bool, server: Path | None) -> None:
    """Install the client hooks (pre-commit, pre-push), or a server's pre-receive.

    \b
    Examples:
      git ckpt hooks install
      git ckpt hooks install --server /srv/git/models.git
    """
    from ckptgit.ops import hooks

    git = Git.discover(".")
    if server is not None:
        _server(git, server, force)
        return
    done = hooks.install(git, force=force)
    skipped = [h for h in hooks.CLIENT_HOOKS if h not in done]
    for name in done:
        click.echo(f"installed {name}")
    for name in skipped:
        click.echo(f"kept your existing {name} hook (use --force to replace it)", err=True)


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
