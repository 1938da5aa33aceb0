from __future__ import annotations

import click

from ckptgit.commands._common import emit_json, json_option, progress


@click.command("restore")
@click.argument("ref")
@click.option("--to", "to", metavar="DIR", help="Restore into DIR instead of the artifact path.")
@click.option("--force", is_flag=True, help="Overwrite work-tree bytes no checkpoint holds.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), metavar="N",
              help="Transfers from the remote N at a time (default: 4 per core).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@json_option
def command(ref: str, to: str | None, force: bool, jobs: int | None, quiet: bool,
            as_json: bool) -> None:
    """Write checkpoint REF's bytes back, from the DVC cache or remote, verified by sha256.

    Your branch is not checked out or changed; only the artifact path (or DIR) is written,
    and only after the bytes match the seal recorded at save time. Missing bytes come from
    the first DVC remote that has them: the default, then each mirror (git ckpt remote); each
    object is verified before it enters the cache and nothing on a remote is ever changed.

    \b
    Examples:
      git ckpt restore clf~1
      git ckpt restore clf#production --to /tmp/serving
      git ckpt restore llm --jobs 16          # many shards over a slow link
    """
    from ckptgit.ops.restore import restore
    from ckptgit.repo import Repo

    repo = Repo.open(".")
    ckpt = repo.resolve(ref)
    with progress(f"restoring {ckpt.name}", ckpt.size, quiet or as_json) as bar:
        ckpt, dest = restore(repo, ref, to, force=force, progress=bar, jobs=jobs)
    if as_json:
        emit_json({"id": ckpt.id, "name": ckpt.name, "commit": ckpt.commit, "path": str(dest),
                   "sha256": ckpt.sha256, "size": ckpt.size})
        return
    click.echo(f"restored {ckpt.name} {ckpt.short_id} to {dest} (sha256 verified)")
