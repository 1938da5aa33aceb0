from __future__ import annotations

import click

from ckptgit.commands._common import emit_json, json_option


@click.command("ratify")
@click.argument("tag")
@click.option("--comment", default="", metavar="TEXT", help="A comment, signed with it.")
@click.option("--key", metavar="PATH", help="SSH key to sign with (default: user.signingkey).")
@json_option
def command(tag: str, comment: str, key: str | None, as_json: bool) -> None:
    """Ratify emergency revert TAG with your own SSH key, within the stage's window.

    Writes the ratification request (the same bytes for every ratifier) and your signed
    approval beside it, in one commit on the branch checked out; merge it into the protected
    branch. Until enough approvers have ratified, stages, history and audit flag the revert,
    and verify exits 1 once the window (ratify_within) has passed.

    \b
    Examples:
      git ckpt ratify 'clf#production#12' --comment "rollback was right, INC-42"
    """
    from ckptgit.ops.ratify import ratify
    from ckptgit.repo import Repo

    out = ratify(Repo.open("."), tag, comment, key)
    if as_json:
        emit_json(out.to_dict())
        return
    now = out.verdict_now
    click.echo(f"ratified {out.tag} as {out.principal} (request {out.request}, commit "
               f"{out.commit[:12]}): {len(now.approved_by)} of {now.required} approvals")
