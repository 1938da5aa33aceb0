from __future__ import annotations

import click

from ckptgit.commands._common import json_option
from ckptgit.commands.approve import run


@click.command("reject")
@click.argument("request", required=False)
@click.option("--comment", required=True, metavar="TEXT", help="Why (signed with the verdict).")
@click.option("--key", metavar="PATH", help="SSH key to sign with (default: user.signingkey).")
@json_option
def command(request: str | None, comment: str, key: str | None, as_json: bool) -> None:
    """Reject REQUEST with your own SSH key; it stays blocked until you approve it.

    \b
    Examples:
      git ckpt reject 3f9a0c1d2e4b --comment "eval set leaked into training data"
    """
    run(request, "reject", comment, key, as_json)
