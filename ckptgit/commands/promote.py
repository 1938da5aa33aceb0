from __future__ import annotations

import click

from ckptgit.commands._common import emit_json, json_option


@click.command("promote")
@click.argument("ref")
@click.option("--stage", required=True, help="Stage to assign, e.g. staging.")
@click.option("--rationale", required=True, metavar="TEXT", help="Why (kept in the signed tag).")
@click.option("--approved-by", "approvers", multiple=True, metavar="WHO",
              help="An approver; repeat for more.")
@click.option("--version", metavar="vX.Y.Z", help="Also register this version (NAME@vX.Y.Z).")
@click.option("--override", is_flag=True, help="Promote into a locked stage (say why).")
@click.option("--push", is_flag=True, help="Push the tag and branch to origin afterwards.")
@json_option
def command(ref: str, stage: str, rationale: str, approvers: tuple[str, ...],
            version: str | None, override: bool, push: bool, as_json: bool) -> None:
    """Assign STAGE to checkpoint REF with a signed tag NAME#STAGE#N.

    Runs the stage's gates first, signs the tag (SSH key in user.signingkey), verifies it
    against .ckpt/allowed_signers, and commits deploy/STAGE.yaml.

    \b
    Examples:
      git ckpt promote clf --stage staging --rationale "beats prod on val_loss"
      git ckpt promote clf~1 --stage production --rationale "canary clean 48h" \\
          --approved-by bob@example.com --version v1.2.0 --push
    """
    from ckptgit.ops.promote import PromoteRequest, promote, push_tags
    from ckptgit.repo import Repo

    repo = Repo.open(".")
    out = promote(repo, PromoteRequest(ref, stage, rationale, approvers, version, override))
    if push:
        push_tags(repo, [out.tag, *([out.version_tag] if out.version_tag else [])])
    if as_json:
        emit_json(out.to_dict())
        return
    for gate in out.gates:
        click.echo(f"gate passed: {gate.gate}")
    click.echo(f"promoted {out.name} {out.id[:8]} to {out.stage}: signed tag {out.tag}"
               + (f", {out.version_tag}" if out.version_tag else ""))
    click.echo(f"{out.manifest} updated in commit {(out.manifest_commit or '')[:12]}")
