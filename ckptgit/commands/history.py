from __future__ import annotations

import click

from ckptgit.commands._common import emit_json, json_option


@click.command("history")
@click.argument("name", required=False)
@click.option("--stage", help="Only this stage.")
@click.option("--at", "at", metavar="TIME",
              help="What each stage held at TIME (ISO 8601, unix time, or '2 days ago').")
@click.option("--allow-unverified", is_flag=True,
              help="Forensics only: count refused tags when answering --at (still marked).")
@json_option
def command(name: str | None, stage: str | None, at: str | None, allow_unverified: bool,
            as_json: bool) -> None:
    """Every promotion and revert (of NAME), with signer, rationale and approvers.

    Each tag is judged by the verifier; one it refuses is shown as UNVERIFIED with why, and
    never counts toward what a stage held.

    \b
    Examples:
      git ckpt history clf
      git ckpt history clf --stage production --at 2024-05-01T12:00Z
    """
    from ckptgit.governance.tagevents import iso
    from ckptgit.ops.history import history
    from ckptgit.repo import Repo

    repo = Repo.open(".")
    found = history(repo, name, stage, at, allow_unverified)
    if found.at is not None:
        rows = [ev.to_dict() for ev in found.holders or []]
        if as_json:
            emit_json({"at": iso(found.at), "holders": rows}, floats=False)
            return
        _holders_table(rows, iso(found.at))
        return
    rows = [e.to_dict() for e in found.events]
    states: dict[str, str] = {}
    if any(r["emergency"] for r in rows):  # the ratification rules load only when needed
        from ckptgit.integrity.tagcheck import ratification_states

        states = ratification_states(repo, found.events)
    for r in rows:
        r["ratification"] = states.get(r["tag"])
    if as_json:
        emit_json(rows, floats=False)
        return
    if not rows:
        click.echo("no promotions or reverts yet")
        return
    for r in rows:
        approvers = ", ".join(r["approved_by"]) or "-"
        what = f"{r['action']:<8} {r['name']} {r['stage'] or r['version'] or ''}"
        ckpt = (r["id"] or r["commit"])[:8]
        click.echo(f"{r['created_at']}  {what} -> {ckpt}  {r['tag']}"
                   + ("" if r["verified"] else "  UNVERIFIED"))
        if not r["verified"]:
            click.echo(f"    refused: {'; '.join(r['problems'])}")
            continue
        click.echo(f"    signer: {r['signer']}  approved by: {approvers}")
        if r["rationale"]:
            click.echo(f"    rationale: {r['rationale']}")
        if r["reverts"]:
            click.echo(f"    reverts: {r['reverts']}  impact window: {r['impact_window']}")
        if r["emergency"]:
            click.echo(f"    EMERGENCY revert, ratification {r['ratification']}"
                       + ("" if r["ratification"] == "ratified"
                          else f": git ckpt ratify '{r['tag']}'"))


def _holders_table(rows: list[dict[str, object]], when: str) -> None:
    if not rows:
        click.echo(f"no stage held a checkpoint at {when}")
        return
    click.echo(f"at {when}:")
    for r in rows:
        ckpt = str(r["id"] or r["commit"])[:8]
        click.echo(f"  {r['name']} {r['stage']}: {ckpt} ({r['tag']}, since {r['created_at']}, "
                   f"by {r['signer']})")
