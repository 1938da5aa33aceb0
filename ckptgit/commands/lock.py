from __future__ import annotations

import click


def _make(kind: str) -> click.Command:
    @click.command(kind)
    @click.argument("stage")
    @click.option("--rationale", required=True, metavar="TEXT", help="Why (kept in the tag).")
    def command(stage: str, rationale: str) -> None:
        from ckptgit.governance.lock import set_lock
        from ckptgit.repo import Repo

        tag = set_lock(Repo.open("."), stage, kind, rationale)
        click.echo(f"{kind}ed stage {stage}: signed tag {tag}")

    command.help = (
        f"{kind.capitalize()} STAGE with a signed tag. "
        + ("While locked, promote and revert into it are refused unless --override."
           if kind == "lock" else "Promotions and reverts into it are allowed again."))
    return command


command = _make("lock")
