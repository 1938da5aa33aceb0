from __future__ import annotations

import click


@click.command("hook", hidden=True)
@click.argument("name", type=click.Choice(["pre-commit", "pre-push", "pre-receive"]))
@click.argument("args", nargs=-1)
def command(name: str, args: tuple[str, ...]) -> int:
    """Run hook NAME. The checks arrive with the governance work; today every hook passes."""
    return 0
