from __future__ import annotations

import click

from ckptgit.commands._common import emit_json, json_option, manifest_line


@click.command("unassign")
@click.argument("name")
@click.option("--stage", required=True, help="Stage that should stop serving NAME.")
@click.option("--rationale", required=True, metavar="TEXT", help="Why (kept in the signed tag).")
@click.option("--approved-by", "approvers", multiple=True, metavar="WHO",
              help="An approver; repeat for more.")
@click.option("--override", is_flag=True, help="Unassign in a locked stage (say why).")
@json_option
def command(name: str, stage: str, rationale: str, approvers: tuple[str, ...], override: bool,
            as_json: bool) -> None:
    """Take STAGE away from NAME with a NEW signed tag (GTO's NAME#STAGE!#N).

    The tag points at the checkpoint that held the stage; from then on the stage holds
    nothing for NAME (in 'git ckpt stages' and 'gto show' alike) until a new promotion.
    The same approvals, signers and locks as a promotion into STAGE apply. deploy/STAGE.yaml
    drops NAME in one commit. Nothing is moved or deleted.

    \b
    Examples:
      git ckpt unassign clf --stage canary --rationale "canary traffic moved to clf-v2"
      git ckpt unassign clf --stage production --rationale "INC-88: model withdrawn" \\
          --approved-by bob@example.com --json
    """
    from ckptgit.ops.unassign import UnassignRequest, unassign
    from ckptgit.repo import Repo

    out = unassign(Repo.open("."), UnassignRequest(name, stage, rationale, approvers, override))
    if as_json:
        emit_json(out.to_dict())
        return
    click.echo(f"unassigned {out.stage} from {out.name} {out.id[:8]}: signed tag {out.tag} "
               f"(ends {out.ends})")
    click.echo(manifest_line(out.manifest, out.manifest_commit, out.superseded_by))
