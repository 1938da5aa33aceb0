from __future__ import annotations

import re
from typing import TYPE_CHECKING

import click

from ckptgit.commands._common import emit_json, human_size, json_option

if TYPE_CHECKING:
    from ckptgit.ops.gc import Plan

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def _duration(ctx: click.Context, param: click.Parameter, value: str) -> float:
    """``90s``, ``30m``, ``2h``, ``14d``, ``2w``, or a number of seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*", value)
    if match is None:
        raise click.BadParameter(f"{value!r} is not a duration such as 30m, 2h or 14d")
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


@click.command("gc")
@click.option("-n", "--dry-run", is_flag=True, help="Only report what would be removed.")
@click.option("--grace", default="1h", show_default=True, callback=_duration,
              metavar="DURATION",
              help="Keep unnamed objects younger than this (a save may be committing them).")
@click.option("--offline", is_flag=True, help="Never read directory listings from the DVC "
              "remote (gc then refuses when one is missing from the cache).")
@click.option("-q", "--quiet", is_flag=True, help="Only the summary line.")
@json_option
def command(dry_run: bool, grace: float, offline: bool, quiet: bool, as_json: bool) -> int:
    """Remove cache objects that no commit, index or work tree names.

    Kept: every object named by a .dvc file or dvc.lock in any commit reachable from any
    branch, tag, checkpoint ref or reflog entry, in any worktree's index or on disk in any
    worktree, or by DVC's run cache, and the members of every directory those name; so
    every saved checkpoint keeps its bytes. Removed: what is left, such as the bytes of a
    save killed before its commit or of a branch that was deleted. Objects younger than
    --grace are kept. gc refuses (exit 4, nothing removed) when the cache lies outside the
    repository (it may be shared), in a shallow or partial clone, or when a named directory
    listing cannot be read. Only the local cache is touched, never the DVC remote.

    \b
    Examples:
      git ckpt gc --dry-run
      git ckpt gc
      git ckpt gc --grace 0 --json | jq '.removed_bytes'
    """
    from ckptgit.ops import gc
    from ckptgit.repo import Repo

    plan = gc.collect(Repo.open("."), grace_s=grace, remote=not offline, dry_run=dry_run)
    if as_json:
        emit_json({"dry_run": dry_run, **plan.to_dict()})
    else:
        if dry_run and not quiet and not plan.refusal:
            for item in plan.collectable:
                click.echo(f"would remove {item.oid}  {human_size(item.size)}  "
                           f"{_age(item.age_s)} old")
        click.echo(_summary(plan, dry_run, grace), err=True)
    return 4 if plan.refusal and (plan.collectable or plan.recent) else 0


def _summary(plan: Plan, dry_run: bool, grace: float) -> str:
    if dry_run:
        done = (f"{_count(len(plan.collectable))} ({human_size(plan.collectable_bytes)}) "
                f"would be removed")
    else:
        done = f"removed {_count(len(plan.removed))} ({human_size(plan.removed_bytes)})"
    parts = [done, f"{plan.kept} named objects kept"]
    if plan.recent:
        parts.append(f"{len(plan.recent)} younger than {_age(grace)} kept")
    line = "; ".join(parts)
    if plan.refusal and (plan.collectable or plan.recent):
        line = f"gc would refuse, removing nothing: {plan.refusal}" if dry_run else line
    return line


def _count(n: int) -> str:
    return f"{n} object" if n == 1 else f"{n} objects"


def _age(seconds: float) -> str:
    for unit in ("w", "d", "h", "m"):
        if seconds >= _UNITS[unit]:
            return f"{seconds / _UNITS[unit]:.0f}{unit}"
    return f"{seconds:.0f}s"
