from __future__ import annotations

import click

from ckptgit.commands._common import emit_json, json_option


@click.command("propose")
@click.argument("ref")
@click.option("--stage", required=True, help="Stage the request is for.")
@click.option("--rationale", required=True, metavar="TEXT", help="Why (kept in the request).")
@click.option("--revert-to", metavar="REF", help="Propose reverting STAGE of REF's name to this.")
@click.option("--unassign", is_flag=True, help="Propose that STAGE stops serving the name REF.")
@click.option("--key", metavar="PATH", help="SSH key to sign with (default: user.signingkey).")
@click.option("--push", is_flag=True, help="Push the proposal branch to origin.")
@click.option("--open-pr", is_flag=True,
              help="Open the pull request with gh (or print the command / URL to open it).")
@json_option
def command(ref: str, stage: str, rationale: str, revert_to: str | None, unassign: bool,
            key: str | None, push: bool, open_pr: bool, as_json: bool) -> None:
    """Propose checkpoint REF for STAGE as a branch to review in a pull request.

    Runs the stage's gates and 'check' against the stage's holder, with the rules of the
    protected branch, then commits ONE request (.ckpt/requests/ID/request.yaml, signed by you)
    and the desired deploy/STAGE.yaml on a new branch ckpt/propose/NAME/STAGE/ID8 made from
    the protected branch. Your index, work tree and branch are not touched.

    \b
    Examples:
      git ckpt propose clf --stage production --rationale "beats prod on val_loss" --push --open-pr
      git ckpt propose clf --stage production --revert-to clf~2 --rationale "INC-42"
      git ckpt propose clf --stage canary --unassign --rationale "retired"
    """
    from ckptgit.ops import propose as ops
    from ckptgit.repo import Repo

    repo = Repo.open(".")
    out = ops.propose(repo, ops.ProposeArgs(ref, stage, rationale, revert_to, unassign, key))
    if push or open_pr:
        ops.push(repo, out)
    if open_pr:
        ops.open_pr(repo, out)
    if as_json:
        emit_json(out.to_dict())
        return
    req = out.request
    for gate in out.gates:
        click.echo(f"gate passed: {gate.gate}")
    errors = sum(f.severity == "error" for f in out.findings)
    click.echo(f"check: {len(out.findings)} finding(s), {errors} error(s)")
    click.echo(f"request {req.id}: {req.action} {req.name} in {req.stage}, on branch "
               f"{out.branch} ({out.commit[:12]})")
    click.echo("  pushed to origin" if out.pushed else
               f"  next: git push origin {out.branch}, then open a pull request into "
               f"{out.base_branch}")
    if out.pr:
        click.echo(f"  pull request: {out.pr}")
