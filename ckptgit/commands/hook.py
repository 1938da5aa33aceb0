"""``git ckpt hook NAME``: what the hook shims exec. Problems go to stderr, one per line;
for a server hook git shows them on the pusher's terminal as ``remote: …``."""

from __future__ import annotations

import sys

import click


@click.command("hook", hidden=True)
@click.argument("name", type=click.Choice(["pre-commit", "pre-push", "pre-receive"]))
@click.argument("args", nargs=-1)
def command(name: str, args: tuple[str, ...]) -> int:
    """Run hook NAME with git's hook ARGS (and stdin)."""
    # pre-commit gets nothing on stdin: never wait for it
    from ckptgit.hooklines import split_lines
    from ckptgit.ops.hook import run

    lines = [] if name == "pre-commit" else split_lines(sys.stdin.read())
    problems = run(name, args, lines)
    for problem in problems:
        click.echo(f"ckpt {name}: refused: {problem}", err=True)
    if problems:
        click.echo(f"ckpt {name}: {len(problems)} problem(s); nothing was "
                   f"{'committed' if name == 'pre-commit' else 'pushed'}", err=True)
        return 1
    return 0
