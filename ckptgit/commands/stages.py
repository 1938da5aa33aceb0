from __future__ import annotations

import click

from ckptgit.commands._common import emit_json, json_option


@click.command("stages")
@click.argument("name", required=False)
@click.option("--allow-unverified", is_flag=True,
              help="Forensics only: count tags the verifier refused (they stay marked).")
@json_option
def command(name: str | None, allow_unverified: bool, as_json: bool) -> None:
    """Which checkpoint holds each stage now (of NAME, or of every artifact).

    A stage's holder is its latest VALID assignment: tags the verifier refuses (unsigned, a
    signer not allowed there, a forged save…) are listed as ignored, never counted.

    \b
    Examples:
      git ckpt stages
      git ckpt stages clf --json
    """
    from ckptgit.governance.tagevents import may_be_emergency
    from ckptgit.ops.stages import stages
    from ckptgit.repo import Repo

    repo = Repo.open(".")
    found = stages(repo, name, allow_unverified)
    locked, retired = found.locked, found.deprecated
    states: dict[str, str] = {}
    if may_be_emergency(found.holders):  # the ratification rules (and the index) load only then
        from ckptgit.integrity.tagcheck import ratification_states

        states = ratification_states(repo, found.holders)
    rows = [ev.to_dict() | {"locked": ev.stage in locked, "deprecated": ev.name in retired,
                            "ratification": states.get(ev.tag)}
            for ev in found.holders]
    if as_json:
        emit_json({"holders": rows, "locked": {s: e.tag for s, e in sorted(locked.items())},
                   "deprecated": {n: e.tag for n, e in sorted(retired.items())},
                   "unverified": [{"tag": e.tag, "problems": list(e.problems)}
                                  for e in found.refused]}, floats=False)
        return
    for ev in found.refused:
        click.echo(f"UNVERIFIED {ev.tag}: {'; '.join(ev.problems)} "
                   f"({'counted: --allow-unverified' if allow_unverified else 'ignored'})",
                   err=True)
    if not rows and not locked and not retired:
        click.echo("no stage holds a checkpoint yet: 'git ckpt promote REF --stage STAGE'")
        return
    from ckptgit.commands._common import table

    table(["name", "stage", "id", "tag", "since", "signer", "rationale"],
          [[r["name"] + (" (deprecated)" if r["deprecated"] else ""),
            r["stage"] + (" (locked)" if r["locked"] else "")
            + (f" (emergency, {r['ratification']})" if r["ratification"] else ""),
            (r["id"] or "")[:8] or r["commit"][:8], r["tag"], r["created_at"],
            r["signer"] or "UNVERIFIED", r["rationale"] or ""]
           for r in rows])
    for stage, ev in sorted(locked.items()):
        if stage not in {r["stage"] for r in rows}:
            click.echo(f"{stage}: locked ({ev.tag})")
    for retired_name, deprecation in sorted(retired.items()):
        if retired_name not in {r["name"] for r in rows}:
            click.echo(f"{retired_name}: deprecated ({deprecation.tag})")
