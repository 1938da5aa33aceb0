from __future__ import annotations

import click

from ckptgit.commands._common import emit_json, json_option


@click.command("check")
@click.argument("refs", nargs=-1, metavar="[REF]...")
@click.option("--baseline", metavar="REF", help="Also flag regressions versus this checkpoint.")
@json_option
def command(refs: tuple[str, ...], baseline: str | None, as_json: bool) -> int:
    """Check checkpoints for regressions and anomalies (default: the latest of each name).

    Rules: metric regression versus the parent, the current stage holder and --baseline;
    seeds missing or changed mid-run; environment drift mid-run; dirty code; non-finite
    metrics; missing data hashes. Severities and thresholds come from .ckpt/config.yaml
    (check:). Exits 1 when any finding is an error.

    \b
    Examples:
      git ckpt check
      git ckpt check clf --baseline clf#production
      git ckpt check clf~2 clf --json
    """
    from ckptgit.ops.check import run
    from ckptgit.repo import Repo

    findings = run(Repo.open("."), refs, baseline)
    errors = sum(f.severity == "error" for f in findings)
    if as_json:
        emit_json([f.to_dict() for f in findings])
    elif not findings:
        click.echo("no findings")
    else:
        colours = {"error": "red", "warning": "yellow", "info": "blue"}
        for f in findings:
            level = click.style(f"{f.severity:<7}", fg=colours.get(f.severity))
            click.echo(f"{level} {f.rule:<20} {f.name} {f.id[:8]}  {f.message}")
        warnings = sum(f.severity == "warning" for f in findings)
        click.echo(f"{errors} error(s), {warnings} warning(s)", err=True)
    return 1 if errors else 0
