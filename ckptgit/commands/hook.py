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
    from ckptgit.git import Git
    from ckptgit.governance import hookchecks

    if name == "pre-commit":
        problems = hookchecks.pre_commit(Git.discover("."))
    elif name == "pre-push":
        lines = sys.stdin.read().splitlines()
        problems = hookchecks.pre_push(Git.discover("."), args[0] if args else "origin", lines,
                                       args[1] if len(args) > 1 else None)
    else:
        lines = sys.stdin.read().splitlines()
        problems = hookchecks.pre_receive(Git.bare("."), lines)
    for problem in problems:
        click.echo(f"ckpt {name}: refused: {problem}", err=True)
    if problems:
        click.echo(f"ckpt {name}: {len(problems)} problem(s); nothing was "
                   f"{'committed' if name == 'pre-commit' else 'pushed'}", err=True)
        return 1
    return 0
