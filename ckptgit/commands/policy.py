from __future__ import annotations

import click

from ckptgit.commands._common import emit_json, json_option, table


@click.group("policy")
def command() -> None:
    """Guardrails (.ckpt/config.yaml guardrails:) on demand, and how often they fired.

    \b
    Examples:
      git ckpt policy check
      git ckpt policy check clf --stage production --json
      git ckpt policy stats
    """


@command.command("check")
@click.argument("refs", nargs=-1, metavar="[REF]...")
@click.option("--action", default="save", show_default=True,
              type=click.Choice(["save", "push", "promote"]),
              help="Judge as this step would.")
@click.option("--stage", metavar="STAGE", help="Judge as a promotion into STAGE would.")
@json_option
def check(refs: tuple[str, ...], action: str, stage: str | None, as_json: bool) -> int:
    """Evaluate the guardrails on checkpoints (default: the latest of each name).

    Exits 1 when an error-level rule fails (and was not overridden at save).

    \b
    Examples:
      git ckpt policy check
      git ckpt policy check clf~1 clf --action push
      git ckpt policy check clf --stage production
    """
    from ckptgit.ops.policy import check as run
    from ckptgit.repo import Repo

    judged = run(Repo.open("."), refs, action, stage)
    blocking = sum(o.blocking for j in judged for o in j.outcomes)
    if as_json:
        emit_json([j.to_dict() for j in judged])
        return 1 if blocking else 0
    rows = [[j.ckpt.name, j.ckpt.short_id, o.rule, o.severity,
             o.result + (" (overridden)" if o.override is not None else ""), o.message]
            for j in judged for o in j.outcomes if o.result != "pass"]
    if rows:
        table(["name", "id", "rule", "severity", "result", "message"], rows)
    passed = sum(o.result == "pass" for j in judged for o in j.outcomes)
    click.echo(f"{len(judged)} checkpoint(s): {blocking} blocking failure(s), {passed} rule "
               "result(s) passed", err=True)
    return 1 if blocking else 0


@command.command("stats")
@click.option("--since", metavar="YYYY-MM", help="Only months from this one on.")
@json_option
def stats(since: str | None, as_json: bool) -> None:
    """How often each guardrail fired, was overridden or paused a run, per rule and month.

    Read from refs/ckpt/policy-log, where every evaluation is recorded (refusals included).

    \b
    Examples:
      git ckpt policy stats
      git ckpt policy stats --since 2026-01 --json
    """
    from ckptgit.ops.policy import stats as run
    from ckptgit.repo import Repo

    result = run(Repo.open("."), since)
    if as_json:
        emit_json(result.to_dict())
        return
    rows = [[rule, str(c.fired), str(c.overridden), str(c.paused), str(c.refused)]
            for rule, c in sorted(result.rules.items())]
    table(["rule", "fired", "overridden", "paused", "refused"], rows,
          title=f"{result.evaluations} evaluation(s), {result.refusals} refusal(s)")
    for month, rules in sorted(result.months.items()):
        click.echo("")
        table(["rule", "fired", "overridden", "paused", "refused"],
              [[r, str(c.fired), str(c.overridden), str(c.paused), str(c.refused)]
               for r, c in sorted(rules.items())], title=month)
