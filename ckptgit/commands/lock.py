"""``git ckpt lock`` and ``git ckpt unlock``: one command built for each kind of decision."""

from __future__ import annotations

import click

from ckptgit.commands._common import emit_json, json_option


def make(kind: str) -> click.Command:
    @click.command(kind)
    @click.argument("stage")
    @click.option("--rationale", required=True, metavar="TEXT", help="Why (kept in the tag).")
    @json_option
    def command(stage: str, rationale: str, as_json: bool) -> None:
        from ckptgit.ops.lock import set_lock
        from ckptgit.repo import Repo

        tag = set_lock(Repo.open("."), stage, kind, rationale)
        if as_json:
            emit_json({"action": kind, "stage": stage, "tag": tag})
        else:
            click.echo(f"{kind}ed stage {stage}: signed tag {tag}")

    command.help = (
        f"{kind.capitalize()} STAGE with a signed tag ckpt/{kind}/STAGE/N. "
        + ("While locked, promote, revert and unassign into it are refused unless --override."
           if kind == "lock" else "Promotions, reverts and unassignments are allowed again.")
        + f"\n\n\b\nExamples:\n  git ckpt {kind} production --rationale \"release freeze "
          f"until 2024-06-01\"\n  git ckpt {kind} production --rationale \"INC-9\" --json")
    return command


command = make("lock")
