from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import click

from ckptgit.commands._common import emit_json, fmt_value, human_size, json_option


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

    doc = full(Repo.open("."), ref)
    if as_json:
        emit_json(doc)
        return
    if all_:
        click.echo(sidecar.dump(doc), nl=False)
        return
    click.echo("\n".join(summary(doc)))


def summary(doc: Mapping[str, Any]) -> Iterator[str]:
    """The lines a person reads first; everything else is one --all away."""
    art = _map(doc.get("artifact"))
    code = _map(doc.get("code"))
    env = _map(doc.get("environment"))
    yield f"{doc.get('name')} {str(doc.get('id'))[:8]}  ({doc.get('id')})"
    yield f"  saved      {doc.get('created_at')}  commit {str(doc.get('commit'))[:12]}"
    if doc.get("step") is not None or doc.get("epoch") is not None:
        step, epoch = ("-" if doc.get(k) is None else doc[k] for k in ("step", "epoch"))
        yield f"  step       {step}  epoch {epoch}"
    yield f"  parent     {doc.get('parent') or '(none)'}"
    yield f"  stages     {', '.join(doc.get('stages') or []) or '(none)'}"
    size = art.get("size")
    yield (f"  artifact   {art.get('path')}  {human_size(size) if isinstance(size, int) else '?'}"
           f"  sha256 {str(art.get('sha256'))[:16]}…")
    yield (f"  code       {str(code.get('commit'))[:12]} on {code.get('branch') or '?'}"
           + ("  (dirty)" if code.get("dirty") else ""))
    packages = _map(env.get("packages"))
    yield (f"  env        Python {env.get('python')} on {env.get('platform')}, "
           f"{len(packages)} packages")
    if doc.get("notes"):
        yield f"  notes      {' '.join(str(doc['notes']).split())}"
    yield from _section("metrics", _map(doc.get("metrics")))
    yield from _section("params", _map(doc.get("params")), limit=15)
    yield from _section("seeds", _map(doc.get("seeds")))
    data = doc.get("data") or []
    if isinstance(data, list) and data:
        yield "data:"
        yield from (f"  {_map(d).get('path')}  md5 {_map(d).get('md5')}" for d in data[:10])
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
