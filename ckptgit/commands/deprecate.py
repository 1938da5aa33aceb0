from __future__ import annotations

import click

from ckptgit.commands._common import emit_json, json_option


@click.command("deprecate")
@click.argument("name")
@click.option("--rationale", required=True, metavar="TEXT", help="Why (kept in the signed tag).")
@click.option("--approved-by", "approvers", multiple=True, metavar="WHO",
              help="An approver; repeat for more.")
@json_option
def command(name: str, rationale: str, approvers: tuple[str, ...], as_json: bool) -> None:
    """Retire NAME with a signed tag NAME@deprecated#N (GTO's deprecation).

    gto show hides NAME from then on, git ckpt stages marks it, and promote refuses it
    unless --override. Stages it holds keep serving until unassigned or reverted. A later
    promotion (with --override) brings the name back.

    \b
    Examples:
      git ckpt deprecate clf-legacy --rationale "replaced by clf; no new promotions"
      git ckpt deprecate clf-legacy --rationale "license withdrawn" --json
    """
    from ckptgit.ops.deprecate import DeprecateRequest, deprecate
    from ckptgit.repo import Repo

    out = deprecate(Repo.open("."), DeprecateRequest(name, rationale, approvers))
    if as_json:
        emit_json(out.to_dict())
        return
    click.echo(f"deprecated {out.name} (latest {out.id[:8]}): signed tag {out.tag}")
