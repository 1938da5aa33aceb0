from __future__ import annotations

import click

from ckptgit.commands._common import emit_json, json_option


@click.command("resume")
@click.argument("name", required=False)
@click.option("--rationale", metavar="TEXT", help="Why the run may go on (required).")
@click.option("--list", "list_", is_flag=True, help="Show the names that are paused.")
@json_option
def command(name: str | None, rationale: str | None, list_: bool, as_json: bool) -> None:
    """Let saves of NAME go on after a guardrail paused them (a recorded event).

    A guardrail with 'pause: true' that fails pauses its name: every save is refused (exit 4,
    ckptgit.RunPaused in Python) until someone resumes it with a rationale. Pauses and
    resumes are kept on refs/ckpt/runs and shown by 'git ckpt audit'.

    \b
    Examples:
      git ckpt resume --list
      git ckpt resume clf --rationale "lr lowered to 1e-4 after the NaN at step 1200"
    """
    from ckptgit.errors import UsageError
    from ckptgit.ops.resume import paused, resume
    from ckptgit.repo import Repo

    repo = Repo.open(".")
    if list_ or name is None:
        if name is None and not list_:
            raise UsageError("give NAME (and --rationale), or --list")
        events = paused(repo)
        if as_json:
            emit_json([e.to_dict() for e in events])
        for e in [] if as_json else events:
            click.echo(f"{e.name}  paused {e.when} by {e.rule}: {e.reason}")
        return
    if rationale is None:
        raise UsageError("--rationale TEXT is required: say why the run may go on")
    event = resume(repo, name, rationale)
    if as_json:
        emit_json(event.to_dict())
        return
    click.echo(f"resumed {name} ({event.commit[:12]} on refs/ckpt/runs)")
