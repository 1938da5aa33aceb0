from __future__ import annotations

import click

from ckptgit.commands._common import emit_json, json_option


def run(request: str | None, verdict: str, comment: str, key: str | None, as_json: bool) -> None:
    from ckptgit.ops.approve import approve
    from ckptgit.repo import Repo

    out = approve(Repo.open("."), request, verdict, comment, key)
    if as_json:
        emit_json(out.to_dict())
        return
    now = out.verdict_now
    click.echo(f"{out.verdict}d request {out.request} as {out.principal} (commit "
               f"{out.commit[:12]}; push this branch)")
    if not out.counted:
        click.echo("  note: the proposer's own approval is not counted for this stage")
    click.echo(f"  approvals: {len(now.approved_by)} of {now.required}"
               + (f" ({', '.join(now.approved_by)})" if now.approved_by else ""))
    for who, why in now.rejected_by:
        click.echo(f"  rejected by {who}: {why}")


@click.command("approve")
@click.argument("request", required=False)
@click.option("--comment", default="", metavar="TEXT", help="A comment, signed with the verdict.")
@click.option("--key", metavar="PATH", help="SSH key to sign with (default: user.signingkey).")
@json_option
def command(request: str | None, comment: str, key: str | None, as_json: bool) -> None:
    """Approve REQUEST with your own SSH key (ssh-keygen -Y sign -n ckpt-approval).

    Signs the request's id and the sha256 of its exact bytes, and commits the statement and
    its detached signature beside the request on the branch checked out. REQUEST may be an
    id prefix; without it, the one request this branch adds.

    \b
    Examples:
      git ckpt approve 3f9a0c1d2e4b --comment "metrics and data look right"
      git ckpt approve --key ~/.ssh/id_ed25519
    """
    run(request, "approve", comment, key, as_json)
