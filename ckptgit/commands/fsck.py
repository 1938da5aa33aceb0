from __future__ import annotations

import click

from ckptgit.commands._common import emit_json, json_option


@click.command("fsck")
@click.option("--repair", is_flag=True, help="Fix what is safe to fix (see below).")
@click.option("--offline", is_flag=True, help="Do not ask the DVC remote what it holds.")
@json_option
def command(repair: bool, offline: bool, as_json: bool) -> int:
    """Find what an interrupted save, push or restore left behind.

    Reports temporary files, cache objects no commit names, checkpoints whose bytes are in
    neither the cache nor the DVC remote (or not pushed), stale git locks, an out-of-date
    checkpoint index and a latest save whose files never reached your index and work tree.
    Nothing is changed without --repair, which deletes leftovers, rebuilds the index, writes
    and stages the interrupted save's files, copies intact work-tree bytes back into the
    cache and pushes what is missing from the remote. Recent cache objects and anything a
    running process holds open are left alone.

    \b
    Examples:
      git ckpt fsck
      git ckpt fsck --repair
    """
    from ckptgit.ops.fsck import fsck
    from ckptgit.repo import Repo

    problems = fsck(Repo.open("."), repair=repair, remote=not offline)
    if as_json:
        emit_json([p.to_dict() for p in problems])
    else:
        for p in problems:
            status = "fixed: " if p.fixed else ""
            hint = "" if repair or p.fix is None else f" [--repair: {p.fix}]"
            click.echo(f"{status}{p.kind}: {p.message}{hint}")
        left = [p for p in problems if not p.fixed]
        click.echo(f"{len(problems)} problem(s), {len(problems) - len(left)} repaired"
                   if problems else "no problems found", err=True)
    return 1 if any(not p.fixed for p in problems) else 0
