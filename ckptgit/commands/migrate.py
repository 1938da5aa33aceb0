from __future__ import annotations

import click

from ckptgit.commands._common import emit_json, json_option


@click.command("migrate")
@click.argument("names", nargs=-1, metavar="[NAME]...")
@click.option("--dry-run", "-n", is_flag=True, help="Say what would be migrated; change nothing.")
@json_option
def command(names: tuple[str, ...], dry_run: bool, as_json: bool) -> None:
    """Rewrite sidecars of older schema versions (of NAMEs, or all) as one new commit.

    Only the copies at the tip of the branch are rewritten; history never is, and older
    sidecars are still read (migrated on read) by every command. The commit carries a
    'Ckpt-Migrated: FROM->TO' trailer, which verify checks: each new sidecar must be exactly
    the migration of the old one. Your staged work stays out of the commit.

    \b
    Examples:
      git ckpt migrate --dry-run
      git ckpt migrate
      git ckpt migrate clf --json
    """
    from ckptgit.ops.migrate import migrate
    from ckptgit.repo import Repo

    result = migrate(Repo.open("."), names, dry_run)
    if as_json:
        emit_json({**result.to_dict(), "dry_run": dry_run})
        return
    if not result.rewrites:
        click.echo(f"nothing to migrate: every sidecar is on schema version {result.version}")
        return
    verb = "would migrate" if dry_run else "migrated"
    for r in result.rewrites:
        click.echo(f"{verb} {r.path} ({r.name} {r.id[:8]}): version {r.old} -> {r.new}")
    if result.commit:
        click.echo(f"{len(result.rewrites)} sidecar(s) in commit {result.commit[:12]}", err=True)
