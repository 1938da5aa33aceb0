from __future__ import annotations

from pathlib import Path

import click

from ckptgit.commands._common import emit_json, json_option


@click.command("reproduce")
@click.argument("ref")
@click.option("--dir", "directory", type=click.Path(file_okay=False), metavar="DIR",
              help="New directory for the worktree and the recorded inputs.")
@click.option("--check", "metrics_file", type=click.Path(dir_okay=False, exists=True),
              metavar="FILE", help="Compare a re-run's metrics (JSON/YAML) with the recorded.")
@click.option("--rtol", type=float, default=1e-3, show_default=True, help="Relative tolerance.")
@click.option("--atol", type=float, default=1e-6, show_default=True, help="Absolute tolerance.")
@json_option
def command(ref: str, directory: str | None, metrics_file: str | None, rtol: float,
            atol: float, as_json: bool) -> int:
    """Lay out everything recorded about REF to run it again, or check a re-run.

    With --dir: a git worktree at the recorded code commit, data inputs pulled through DVC at
    their recorded hashes, pinned requirements, params, seeds, and reproduce.sh with the
    recorded command. With --check: metrics of a re-run against the recorded ones (exit 1 on
    a difference beyond the tolerances).

    \b
    Examples:
      git ckpt reproduce clf~2 --dir /tmp/rerun
      git ckpt reproduce clf~2 --check /tmp/rerun/metrics.json --rtol 0.01
      git ckpt reproduce clf~2 --check metrics.json --json | jq '.differences'
    """
    from ckptgit.errors import UsageError
    from ckptgit.ops.reproduce import check_rerun, prepare
    from ckptgit.repo import Repo

    if not directory and not metrics_file:
        raise UsageError("give --dir DIR to prepare a re-run, or --check FILE to compare one")
    repo = Repo.open(".")
    result: dict[str, object] = {}
    if directory:
        done = prepare(repo, ref, Path(directory).resolve())
        result["prepared"] = {"dir": str(done.dir), "commit": done.commit,
                              "data": [d.to_doc() for d in done.data], "files": done.files}
        if not as_json:
            click.echo(f"worktree at {done.commit[:12]} in {done.dir}; {len(done.data)} data "
                       f"input(s) at their recorded hashes; run {done.dir / 'reproduce.sh'}")
    problems: list[str] = []
    if metrics_file:
        problems = check_rerun(repo, ref, Path(metrics_file), rtol, atol)
        result["differences"] = problems
        if not as_json:
            for line in problems:
                click.echo(line)
            click.echo("metrics match the recorded ones" if not problems else
                       f"{len(problems)} metric(s) differ", err=True)
    if as_json:
        emit_json(result)
    return 1 if problems else 0
