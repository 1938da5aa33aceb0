from __future__ import annotations

import click

from ckptgit.commands._common import emit_json, json_option, manifest_line


@click.command("promote")
@click.argument("ref", required=False)
@click.option("--stage", help="Stage to assign, e.g. staging.")
@click.option("--rationale", metavar="TEXT", help="Why (kept in the signed tag).")
@click.option("--request", "request", metavar="ID",
              help="Carry out a merged request whose signed approvals verify (git ckpt propose).")
@click.option("--approved-by", "approvers", multiple=True, metavar="WHO",
              help="An approver; repeat for more.")
@click.option("--version", metavar="vX.Y.Z", help="Register this version (NAME@vX.Y.Z); "
              "default: the next patch version, unless the checkpoint has one already.")
@click.option("--no-version", is_flag=True, help="Register no version.")
@click.option("--override", is_flag=True, help="Promote into a locked stage (say why).")
@click.option("--push", is_flag=True, help="Push the tag and branch to origin afterwards.")
@json_option
def command(ref: str | None, stage: str | None, rationale: str | None, request: str | None,
            approvers: tuple[str, ...], version: str | None, no_version: bool, override: bool,
            push: bool, as_json: bool) -> None:
    """Assign STAGE to checkpoint REF with a signed tag NAME#STAGE#N.

    Runs the stage's gates first, signs the tag (SSH key in user.signingkey), verifies it
    against .ckpt/allowed_signers, and commits deploy/STAGE.yaml. A stage with
    'approvals: N' takes only signed approvals: 'git ckpt propose', review, 'git ckpt approve',
    merge, then 'git ckpt promote --request ID' (docs/pull-requests.md).
    Registers a GTO version (NAME@vX.Y.Z, the next patch version) too, so 'gto show' and
    'dvc artifacts get REPO NAME' find it without a version; --no-version skips that.

    \b
    Examples:
      git ckpt promote clf --stage staging --rationale "beats prod on val_loss"
      git ckpt promote clf~1 --stage staging --rationale "canary clean 48h" \\
          --version v1.2.0 --push
      git ckpt promote --request 3f9a0c1d2e4b --push
    """
    from ckptgit.errors import UsageError
    from ckptgit.ops.promote import AUTO, PromoteRequest, promote, push_tags
    from ckptgit.repo import Repo

    if version and no_version:
        raise UsageError("give --version or --no-version, not both")
    version = None if no_version else version or AUTO
    repo = Repo.open(".")
    if request:
        if ref or stage or rationale or approvers or override:
            raise UsageError("--request takes the checkpoint, stage and rationale from the "
                             "request: drop REF, --stage, --rationale and --approved-by")
        from ckptgit.ops.promote_request import promote_request

        out = promote_request(repo, request, version)
    else:
        if not ref or not stage or rationale is None:
            raise UsageError("give REF, --stage and --rationale (or --request ID)")
        out = promote(repo, PromoteRequest(ref, stage, rationale, approvers, version, override))
    if push:
        push_tags(repo, [out.tag, *([out.version_tag] if out.version_tag else [])])
    if as_json:
        emit_json(out.to_dict())
        return
    for gate in out.gates:
        click.echo(f"gate passed: {gate.gate}")
    verb = {"revert": "reverted", "unassign": "unassigned"}.get(out.action, "promoted")
    click.echo(f"{verb} {out.name} {out.id[:8]} {'to' if verb == 'promoted' else 'in'} "
               f"{out.stage}: signed tag {out.tag}"
               + (f", {out.version_tag}" if out.version_tag else ""))
    click.echo(manifest_line(out.manifest, out.manifest_commit, out.superseded_by))
