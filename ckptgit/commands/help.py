"""``git ckpt help [TOPIC]``: the reference pages shipped with the package, in the terminal.

So a generated ``.ckpt/config.yaml`` can point at ``git ckpt help config`` instead of a docs
path that exists only in ckptgit's own repository.
"""

from __future__ import annotations

import click

from ckptgit.commands._common import emit_json, json_option

TOPICS = {
    "config": ("configuration.md", "every key of .ckpt/config.yaml"),
    "compare": ("compare.md", "diff sections, slices and distributions formats, check rules"),
    "governance": ("governance.md", "stages, signed promotions and reverts, hooks"),
    "sidecar": ("sidecar.md", "the sidecar YAML format"),
    "audit": ("audit.md", "the chain of custody"),
    "migration": ("migration.md", "older sidecar schemas"),
    "report": ("report.md", "the report site and model cards"),
}


@click.command("help")
@click.argument("topic", required=False, type=click.Choice(sorted(TOPICS)))
@json_option
def command(topic: str | None, as_json: bool) -> None:
    """Print a reference page (the same text as the docs site): TOPIC is one of the list.

    \b
    Examples:
      git ckpt help            # the topics
      git ckpt help config     # every key of .ckpt/config.yaml
      git ckpt help config | less
    """
    from ckptgit.resources import resource_dir

    if topic is None:
        if as_json:
            emit_json({t: about for t, (_, about) in TOPICS.items()})
            return
        click.echo("Topics ('git ckpt help TOPIC'); 'git ckpt COMMAND -h' for a command:")
        for name, (_, about) in TOPICS.items():
            click.echo(f"  {name:<12} {about}")
        return
    text = (resource_dir("docs") / TOPICS[topic][0]).read_text(encoding="utf-8")
    if as_json:
        emit_json({"topic": topic, "text": text})
        return
    click.echo(text, nl=False)
