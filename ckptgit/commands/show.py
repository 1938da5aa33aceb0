from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import click

from ckptgit.commands._common import emit_json, fmt_value, human_size, json_option

if TYPE_CHECKING:
    from ckptgit.ops.show import Shown


@click.command("show")
@click.argument("ref")
@click.option("--all", "all_", is_flag=True,
              help="Print the whole sidecar (every package, tensor and setting).")
@json_option
def command(ref: str, all_: bool, as_json: bool) -> None:
    """Show checkpoint REF: a concise summary (--all or --json for everything recorded).

    \b
    Examples:
      git ckpt show clf
      git ckpt show clf~2 --all
      git ckpt show 0193f2a1 --json
    """
    from ckptgit import sidecar
    from ckptgit.ops.show import full
    from ckptgit.repo import Repo

    shown = full(Repo.open("."), ref)
    if as_json:
        emit_json(shown.to_doc())
        return
    if all_:
        click.echo(sidecar.dump(shown.to_doc()), nl=False)
        return
    click.echo("\n".join(summary(shown)))


def summary(shown: Shown) -> Iterator[str]:
    """The lines a person reads first; everything else is one --all away."""
    doc = shown.sidecar
    art, code = doc.artifact, doc.code
    env = _map(doc.environment)
    yield f"{doc.name} {doc.id[:8]}  ({doc.id})"
    yield f"  saved      {doc.created_at}  commit {shown.commit[:12]}"
    if doc.step is not None or doc.epoch is not None:
        step, epoch = ("-" if v is None else v for v in (doc.step, doc.epoch))
        yield f"  step       {step}  epoch {epoch}"
    yield f"  parent     {doc.parent or '(none)'}"
    yield f"  stages     {', '.join(shown.stages) or '(none)'}"
    yield (f"  artifact   {art.path}  {human_size(art.size)}  sha256 {art.sha256[:16]}…")
    yield (f"  code       {str(code.commit)[:12]} on {code.branch or '?'}"
           + ("  (dirty)" if code.dirty else ""))
    packages = _map(env.get("packages"))
    yield (f"  env        Python {env.get('python')} on {env.get('platform')}, "
           f"{len(packages)} packages")
    if doc.notes:
        yield f"  notes      {' '.join(str(doc.notes).split())}"
    yield from _section("metrics", _map(doc.metrics))
    yield from _section("params", _map(doc.params), limit=15)
    yield from _section("seeds", _map(doc.seeds))
    if doc.data:
        yield "data:"
        yield from (f"  {d.path}  md5 {d.md5}" for d in doc.data[:10])
    yield "(git ckpt show --all for the whole record)"


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _section(title: str, values: Mapping[str, Any], limit: int = 40) -> Iterator[str]:
    if not values:
        return
    yield f"{title}:"
    items = list(values.items())
    for key, value in items[:limit]:
        shown = fmt_value(value) if not isinstance(value, (Mapping, list)) else _short(value)
        yield f"  {key:<24} {shown}"
    if len(items) > limit:
        yield f"  … {len(items) - limit} more"


def _short(value: Any) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= 80 else text[:79] + "…"
