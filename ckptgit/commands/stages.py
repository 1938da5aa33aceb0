from __future__ import annotations

import click

from ckptgit.commands._common import emit_json, json_option


@click.command("stages")
@click.argument("name", required=False)
@json_option
def command(name: str | None, as_json: bool) -> None:
    """Which checkpoint holds each stage now (of NAME, or of every artifact).

    Read from the signed tags in one pass; locked stages and deprecated names are marked.
    """
    from ckptgit.integrity.tagcheck import ratification_states
    from ckptgit.ops.stages import stages
    from ckptgit.repo import Repo

    repo = Repo.open(".")
    found = stages(repo, name)
    locked, retired = found.locked, found.deprecated
    states = ratification_states(repo, found.holders)
    rows = [ev.to_dict() | {"locked": ev.stage in locked, "deprecated": ev.name in retired,
                            "ratification": states.get(ev.tag)}
            for ev in found.holders]
    if as_json:
        emit_json({"holders": rows, "locked": {s: e.tag for s, e in sorted(locked.items())},
                   "deprecated": {n: e.tag for n, e in sorted(retired.items())}})
        return
    if not rows and not locked and not retired:
        click.echo("no stage holds a checkpoint yet: 'git ckpt promote REF --stage STAGE'")
        return
    from ckptgit.commands._common import table

    table(["name", "stage", "id", "tag", "since", "signer", "rationale"],
          [[r["name"] + (" (deprecated)" if r["deprecated"] else ""),
            r["stage"] + (" (locked)" if r["locked"] else "")
            + (f" (emergency, {r['ratification']})" if r["ratification"] else ""),
            (r["id"] or "")[:8] or r["commit"][:8], r["tag"], r["created_at"], r["signer"],
            r["rationale"] or ""]
           for r in rows])
    for stage, ev in sorted(locked.items()):
        if stage not in {r["stage"] for r in rows}:
            click.echo(f"{stage}: locked ({ev.tag})")
    for retired_name, deprecation in sorted(retired.items()):
        if retired_name not in {r["name"] for r in rows}:
            click.echo(f"{retired_name}: deprecated ({deprecation.tag})")
