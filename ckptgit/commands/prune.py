from __future__ import annotations

import click

from ckptgit.commands._common import emit_json, human_size, json_option, table


@click.command("prune")
@click.option("--dry-run", is_flag=True, help="Show what would be freed and why; change nothing.")
@click.option("--remote", is_flag=True, help="Also remove the bytes from the DVC remote.")
@click.option("-v", "--verbose", is_flag=True, help="List kept checkpoints too.")
@json_option
def command(dry_run: bool, remote: bool, verbose: bool, as_json: bool) -> None:
    """Free the bytes of checkpoints the retention rules let go (.ckpt/config.yaml retention:).

    Sidecars, pointers and history stay, so list, show, diff (metadata), lineage and audit
    keep working; a pruned checkpoint shows as 'pruned'. Anything a tag ever named is never
    pruned. Each run is recorded on refs/ckpt/retention. Refused while a save is running.

    \b
    Examples:
      git ckpt prune --dry-run
      git ckpt prune
      git ckpt prune --remote --json
    """
    from ckptgit.ops.prune import prune
    from ckptgit.repo import Repo

    result = prune(Repo.open("."), dry_run=dry_run, remote=remote)
    if as_json:
        emit_json(result.to_dict())
        return
    shown = [d for d in result.decisions if verbose or (not d.keep and
                                                       d.rule != "already-pruned")]
    if shown:
        table(["action", "id", "name", "created (UTC)", "size", "rule", "why"],
              [["keep" if d.keep else "prune", d.ckpt.short_id, d.ckpt.name,
                d.ckpt.created_at[:19].replace("T", " "), human_size(d.ckpt.size), d.rule,
                "; ".join(d.reasons)] for d in shown])
    if result.attached:
        click.echo(f"with them, {len(result.attached)} companion(s) and data input(s) nothing "
                   "kept names:")
        table(["kind", "path", "md5", "size"],
              [[a["kind"], a["path"], a["md5"][:12], human_size(a["size"] or 0)]
               for a in result.attached])
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    verb = "would free" if dry_run else "freed"
    where = (f"{human_size(result.freed_local)} locally"
             + (f", {human_size(result.freed_remote)} on the remote" if remote else ""))
    amount = human_size(result.bytes) if dry_run else where
    kept = sum(d.keep for d in result.decisions)
    click.echo(f"{len(result.pruned)} checkpoint(s) pruned, {kept} kept: {verb} {amount}"
               + (f" (record {result.record[:12]} on refs/ckpt/retention)" if result.record
                  else ""))
