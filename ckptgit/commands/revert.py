from __future__ import annotations

import click

from ckptgit.commands._common import emit_json, json_option, manifest_line


@click.command("revert")
@click.argument("name")
@click.option("--stage", required=True, help="Stage to roll back.")
@click.option("--to", "to", required=True, metavar="REF", help="Known-good checkpoint.")
@click.option("--rationale", required=True, metavar="TEXT", help="Why (kept in the signed tag).")
@click.option("--approved-by", "approvers", multiple=True, metavar="WHO",
              help="An approver; repeat for more.")
@click.option("--impact-window", metavar="FROM/TO",
              help="When the bad checkpoint served, ISO 8601 (default: its tag's date/now).")
@click.option("--sandbox/--no-sandbox", default=None,
              help="Rehearse in a temporary worktree first (default: on for protected stages).")
@click.option("--override", is_flag=True, help="Revert a locked stage (say why).")
@click.option("--force", is_flag=True,
              help="Revert despite an incompatible serving stack or unsaved work-tree bytes.")
@click.option("--no-restore", is_flag=True, help="Tag and update the manifest only.")
@click.option("--emergency", is_flag=True,
              help="Break glass: a responder reverts without approvals; ratify within the "
                   "stage's window (git ckpt ratify TAG).")
@json_option
def command(name: str, stage: str, to: str, rationale: str, approvers: tuple[str, ...],
            impact_window: str | None, sandbox: bool | None, override: bool, force: bool,
            no_restore: bool, emergency: bool, as_json: bool) -> None:
    """Roll STAGE of NAME back to checkpoint REF with a NEW signed tag.

    No tag is moved or deleted. The checkpoint's bytes (and companions) are rehydrated and
    sealed, the gates run (in a sandbox worktree for protected stages), then the bytes are
    restored into the work tree and deploy/STAGE.yaml is committed.

    \b
    Examples:
      git ckpt revert clf --stage canary --to clf#production --rationale "p99 latency up 40%"
      git ckpt revert clf --stage production --to clf~3 --rationale "INC-1234" \\
          --impact-window 2024-05-01T10:00Z/2024-05-01T12:30Z --emergency
    """
    from ckptgit.ops.revert import RevertRequest, revert
    from ckptgit.repo import Repo

    repo = Repo.open(".")
    out = revert(repo, RevertRequest(name, stage, to, rationale, approvers, impact_window,
                                     sandbox, override, force, not no_restore, emergency))
    if as_json:
        emit_json(out.to_dict())
        return
    if out.sandbox_report:
        click.echo(f"sandbox passed (report sha256:{out.sandbox_report[:16]}…)")
    click.echo(f"reverted {out.name} {out.stage} to {out.id[:8]}: signed tag {out.tag} "
               f"(replaces {out.reverts})")
    click.echo(manifest_line(out.manifest, out.manifest_commit, out.superseded_by))
