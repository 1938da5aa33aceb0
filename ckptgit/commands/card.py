from __future__ import annotations

from pathlib import Path

import click

from ckptgit.commands._common import emit_json, json_option


@click.command("card")
@click.argument("ref")
@click.option("-o", "--output", "out_file", metavar="FILE",
              help="Write the card here (e.g. README.md beside the weights); default: stdout.")
@json_option
def command(ref: str, out_file: str | None, as_json: bool) -> None:
    """Print checkpoint REF's model card in the Hugging Face format.

    YAML front matter with model-index metrics, datasets by content hash, and license, tags
    and language from the 'card:' section of .ckpt/config.yaml; a body with what changed
    since the parent and why, the promotion history with rationales and approvers (events
    the verifier rejects are marked UNVERIFIED), seeds, environment and the seals. Ready to
    push as README.md next to the weights on the Hub.

    \b
    Examples:
      git ckpt card clf#production -o README.md
      git ckpt card clf~1 --json | jq '.metadata["model-index"]'
    """
    from ckptgit.ops.card import card, render
    from ckptgit.repo import Repo
    from ckptgit.report.card import front_matter

    facts = card(Repo.open("."), ref)
    text = render(facts)
    if out_file:
        Path(out_file).write_text(text, encoding="utf-8")
    if as_json:
        emit_json({"id": facts.checkpoint.id, "name": facts.checkpoint.name,
                   "metadata": front_matter(facts), "card": text, "output": out_file})
    elif out_file:
        click.echo(f"wrote the model card of {facts.checkpoint.name} "
                   f"{facts.checkpoint.short_id} to {out_file}")
    else:
        click.echo(text, nl=False)
