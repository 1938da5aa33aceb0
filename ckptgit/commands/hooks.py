from __future__ import annotations

import click


@click.group("hooks")
def command() -> None:
    """Manage ckptgit's git hooks."""


@command.command("install")
@click.option("--force", is_flag=True, help="Replace hooks that are not ckptgit's.")
def install(force: bool) -> None:
    """Install the client hooks (pre-commit, pre-push) into this repository."""
    from ckptgit import hooks
    from ckptgit.git import Git

    git = Git.discover(".")
    done = hooks.install(git, force=force)
    skipped = [h for h in hooks.CLIENT_HOOKS if h not in done]
    for name in done:
        click.echo(f"installed {name}")
    for name in skipped:
        click.echo(f"kept your existing {name} hook (use --force to replace it)", err=True)
