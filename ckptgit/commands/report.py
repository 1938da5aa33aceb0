from __future__ import annotations

import click

from ckptgit.commands._common import emit_json, json_option


@click.command("report")
@click.option("-o", "--output", "out_dir", default="ckpt-report", show_default=True,
              metavar="DIR", help="Directory to write the site into.")
@click.option("--name", "names", multiple=True, metavar="NAME",
              help="Only this name; repeat for more (default: every name).")
@click.option("--open", "open_", is_flag=True, help="Open the summary in a browser afterwards.")
@json_option
def command(out_dir: str, names: tuple[str, ...], open_: bool, as_json: bool) -> None:
    """Write a static report site that works offline: an executive summary and one page per name.

    Per name: metric trajectories over steps and over saves (promotions, reverts and stage
    freezes marked), the lineage graph, the stage timeline (signer, rationale and approvers on
    hover; events the verifier rejects shown as UNVERIFIED), the latest save against the
    current holder with slice and module attribution, and a Hugging Face model card per
    checkpoint (cards/). The summary says what each stage serves, since when, signed and
    approved by whom, how it compares with the previous holder, open findings of 'check' and
    the integrity status from 'verify' (records only; no bytes are hashed).

    \b
    Examples:
      git ckpt report --open
      git ckpt report -o public/ckpt --name clf --name ranker
      git ckpt report --json | jq -r '.pages[0]'
    """
    from ckptgit.ops.report import write
    from ckptgit.repo import Repo

    pages = write(Repo.open("."), out_dir, names)
    if as_json:
        emit_json({"output": out_dir, "pages": [str(p) for p in pages],
                   "cards": str(pages[0].parent / "cards")})
    else:
        click.echo(f"wrote {len(pages)} page(s) to {out_dir}/: open {pages[0]}")
    if open_:
        click.launch(str(pages[0]))
