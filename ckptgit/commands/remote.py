from __future__ import annotations

import click

from ckptgit.commands._common import emit_json, json_option


@click.group("remote")
def command() -> None:
    """The DVC remotes that hold checkpoint bytes: the default and its mirrors.

    Every 'save --push', 'git push' (pre-push hook) writes to all of them at once what each
    lacks (one that does not answer fails the push, named in one line); 'restore' reads from
    the first that has the bytes, each object verified before it enters the cache (a remote
    is never changed by a read). Remotes are DVC's own (in
    .dvc/config); the mirror list is .ckpt/remotes.yaml. Commit both to share them.

    \b
    Examples:
      git ckpt remote add s3://bucket/ckpt                 # (re-)point the default remote
      git ckpt remote add --mirror --name eu s3://eu-bucket/ckpt
      dvc remote modify --local eu endpointurl https://s3.eu.example.com
      git ckpt remote list
      git ckpt remote remove eu
      git ckpt verify --remote                             # which replica holds what
    """


@command.command("add")
@click.argument("url")
@click.option("--mirror", is_flag=True, help="Add a replica instead of re-pointing the default.")
@click.option("--name", metavar="N", help="Remote name (default: the default remote's name, "
              "or mirrorN).")
@json_option
def add(url: str, mirror: bool, name: str | None, as_json: bool) -> None:
    """Add a mirror, or point the default remote at URL."""
    from ckptgit.ops import remote
    from ckptgit.repo import Repo

    info = remote.add(Repo.open("."), url, mirror=mirror, name=name)
    if as_json:
        emit_json(info.to_dict())
        return
    click.echo(f"{info.role} remote {info.name}: {info.url}; commit .dvc/config and "
               ".ckpt/remotes.yaml to share it")


@command.command("list")
@json_option
def list_(as_json: bool) -> None:
    """The DVC remotes, their role (default, mirror, other) and URL."""
    from ckptgit.ops import remote
    from ckptgit.repo import Repo

    found = remote.list_remotes(Repo.open("."))
    if as_json:
        emit_json([r.to_dict() for r in found])
        return
    for r in found:
        click.echo(f"{r.name}\t{r.role}\t{r.url}")


@command.command("remove")
@click.argument("name")
@json_option
def remove(name: str, as_json: bool) -> None:
    """Remove remote NAME (a mirror, or the default once no mirror is left)."""
    from ckptgit.ops import remote
    from ckptgit.repo import Repo

    remote.remove(Repo.open("."), name)
    if as_json:
        emit_json({"removed": name})
        return
    click.echo(f"removed remote {name}")
