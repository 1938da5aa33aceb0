from __future__ import annotations

import click


@click.command("audit")
@click.argument("name", required=False)
@click.option("--since", metavar="TIME", help="Only events from TIME on (ISO 8601).")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown", "html"]),
              default="text", show_default=True)
@click.option("--offline", is_flag=True, help="Verify bytes without reading the DVC remote.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to a file.")
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
def command(name: str | None, since: str | None, fmt: str, offline: bool,
            output: str | None, as_json: bool) -> int:
    """The chain of custody of checkpoints (of NAME, or all), in time order.

    Every save (who, when, code commit, data inputs, seal) and every promotion, revert,
    deprecation and lock (signer, rationale, approvers), each with the verdict of verify.
    Markdown and HTML open with a one-page summary for auditors. Exit 3 when any event
    fails verification.

    \b
    Examples:
      git ckpt audit
      git ckpt audit clf --since 2024-05-01 --format markdown
      git ckpt audit --format html -o audit.html
    """
    from pathlib import Path

    from ckptgit.integrity.audit import audit
    from ckptgit.integrity.audit_render import render
    from ckptgit.repo import Repo

    fmt = "json" if as_json else fmt
    result = audit(Repo.open("."), name, since, offline)
    text = render(result, fmt)
    if output:
        Path(output).write_text(text)
    else:
        click.echo(text, nl=False)
    return 3 if result.failures else 0
