from __future__ import annotations

import click

from ckptgit.commands._common import emit_json, json_option


@click.command("init")
@click.option("--remote", metavar="URL",
              help="DVC remote for checkpoint bytes (default: a directory under .git/ckpt/, "
                   "reachable from this machine only). A relative path is taken from the current "
                   "directory, as 'dvc remote add' takes it.")
@click.option("--force-hooks", is_flag=True, help="Replace existing hooks with ckptgit's.")
@click.option("--ci", type=click.Choice(["github", "gitlab"]),
              help="Also install the pull-request flow's CI templates (docs/pull-requests.md).")
@click.option("--framework/--no-framework", default=None,
              help="Install the hooks through the pre-commit framework (default: when the "
                   "repository uses it: a .pre-commit-config.yaml or pre-commit's hook files).")
@json_option
def command(remote: str | None, force_hooks: bool, ci: str | None, framework: bool | None,
            as_json: bool) -> None:
    """Set up checkpoint tracking in this git repository.

    Runs 'dvc init' when needed, configures a copy-or-reflink cache (never links into the
    work tree), a default DVC remote, writes .ckpt/config.yaml and .ckpt/allowed_signers,
    installs the hooks, and commits the shared files in one commit. Safe to run again.
    In a repository that uses the pre-commit framework, the hooks are added to
    .pre-commit-config.yaml and installed by 'pre-commit install', so the checks run once.

    \b
    Examples:
      git ckpt init
      git ckpt init --remote s3://bucket/ckpts
      git ckpt init --remote ../shared-store
      git ckpt init --ci github
    """
    from ckptgit.ops.init import init

    result = init(".", remote=remote, force_hooks=force_hooks, ci=ci, framework=framework)
    if as_json:
        emit_json({"root": str(result.root), "remote": result.remote, "commit": result.commit,
                   "created": result.created, "hooks": result.hooks,
                   "hooks_via": result.hooks_via, "local_remote": result.local_remote,
                   "notes": result.notes})
        return
    click.echo(f"checkpoint tracking ready in {result.root}")
    click.echo(f"  DVC remote: {result.remote}")
    if result.local_remote:
        click.echo("  note: this DVC remote is a directory on this machine only; teammates "
                   "cannot fetch checkpoint bytes from it, and pushing checkpoints to a shared "
                   "git remote is refused until you run 'git ckpt remote add URL' "
                   "(S3, SSH, …)", err=True)
    if result.hooks:
        via = " (through pre-commit)" if result.hooks_via == "pre-commit" else ""
        click.echo(f"  hooks: {', '.join(result.hooks)}{via}")
    for note in result.notes:
        click.echo(f"warning: {note}", err=True)
    click.echo(f"  commit: {result.commit[:12]}" if result.commit else "  nothing new to commit")
