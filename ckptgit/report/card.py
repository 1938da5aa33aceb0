"""A checkpoint's model card in the Hugging Face format: YAML front matter, Markdown body.

The front matter carries ``model-index`` (the checkpoint's numeric metrics), ``datasets`` (the
DVC-tracked inputs by content hash), license, tags and language from ``card:`` in
.ckpt/config.yaml. The body says what changed since the parent and why, the promotion
history (an event the verifier rejected is marked UNVERIFIED, never shown as signed), seeds,
environment and the seals.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ckptgit import yamlsafe
from ckptgit.compare import metrics as metric_rules
from ckptgit.model import DataInput, Sidecar
from ckptgit.report import model as rm

_PACKAGES = ("torch", "transformers", "lightning", "pytorch-lightning", "jax", "tensorflow",
             "numpy", "safetensors", "accelerate", "datasets", "scikit-learn", "ckptgit")


def render(info: rm.CardFacts) -> str:
    front = yamlsafe.dump(front_matter(info), sort_keys=False, allow_unicode=True)
    return f"---\n{front}---\n\n" + "\n".join(_body(info)) + "\n"


def front_matter(info: rm.CardFacts) -> dict[str, Any]:
    s, c = info.settings, info.checkpoint
    meta: dict[str, Any] = {}
    if s.language:
        meta["language"] = list(s.language)
    if s.license:
        meta["license"] = s.license
    if s.library_name:
        meta["library_name"] = s.library_name
    if s.pipeline_tag:
        meta["pipeline_tag"] = s.pipeline_tag
    meta["tags"] = list(dict.fromkeys(["ckptgit", *s.tags, *c.labels]))
    datasets = [_dataset_id(d) for d in _data(info.doc)]
    if datasets:
        meta["datasets"] = datasets
    results = _metrics(info)
    if results:
        meta["model-index"] = [{"name": c.name, "results": [{
            "task": {"type": s.task},
            "dataset": {"name": datasets[0] if datasets else f"{c.name} evaluation",
                        "type": datasets[0] if datasets else "custom"},
            "metrics": results}]}]
    return meta


def _data(doc: Sidecar | None) -> tuple[DataInput, ...]:
    return (doc.data or ()) if doc is not None else ()


def _dataset_id(entry: DataInput) -> str:
    return f"{entry.path}@md5:{entry.md5}"


def _recorded_metrics(info: rm.CardFacts) -> Mapping[str, Any]:
    return (info.doc.metrics if info.doc else None) or info.checkpoint.metrics


def _metrics(info: rm.CardFacts) -> list[dict[str, Any]]:
    flat = metric_rules.flatten(_recorded_metrics(info))
    out = []
    for name, value in flat.items():
        number = metric_rules.number(value)
        if number is not None and number == number and abs(number) != float("inf"):
            out.append({"type": name, "value": value, "name": name})
    return out


def _body(info: rm.CardFacts) -> Iterator[str]:
    c, doc = info.checkpoint, info.doc
    yield f"# {c.name} · checkpoint {c.short_id}"
    yield ""
    yield (f"Saved {c.created_at}" + (f" at step {c.step}" if c.step is not None else "")
           + f" in commit `{c.commit[:12]}`" + (f" by {doc.owner}" if doc and doc.owner else "")
           + ". Recorded by [ckptgit](https://pypi.org/project/ckptgit/).")
    yield from _changes(info)
    yield from _promotions(info)
    yield from _metrics_table(info)
    yield from _seeds(doc)
    yield from _environment(doc)
    yield from _seals(info)


def _changes(info: rm.CardFacts) -> Iterator[str]:
    yield ""
    yield "## What changed since the parent, and why"
    yield ""
    notes = info.doc.notes if info.doc else None
    yield f"> {' '.join(str(notes).split())}" if notes else "_No notes were recorded._"
    yield ""
    if info.parent is None:
        yield "This checkpoint has no parent in this history: it starts a lineage."
        return
    yield f"Parent: `{info.parent.short_id}` ({info.parent.created_at})."
    if info.metric_changes:
        yield ""
        yield "| metric | parent | this | |"
        yield "|---|---|---|---|"
        for m in info.metric_changes:
            yield f"| {_cell(m.metric)} | {_cell(m.old)} | {_cell(m.new)} | {m.direction} |"
    if info.param_changes:
        yield ""
        yield "| parameter | change | parent | this |"
        yield "|---|---|---|---|"
        for path, change, old, new in info.param_changes[:50]:
            yield f"| {_cell(path)} | {change} | {_cell(old)} | {_cell(new)} |"


def _promotions(info: rm.CardFacts) -> Iterator[str]:
    yield ""
    yield "## Promotion history"
    yield ""
    if not info.events:
        yield "Never promoted."
        return
    for e in info.events:
        what = e.stage or e.version or ""
        if e.verified:
            who = f"signed by {e.signer}"
        else:
            who = f"**UNVERIFIED** ({'; '.join(e.problems)}); the tag claims {e.signer or 'no one'}"
        approvers = f", approved by {', '.join(e.approvers)}" if e.approvers else ""
        yield f"- {e.when}: **{e.action}** {what} (`{e.tag}`), {who}{approvers}."
        if e.rationale:
            yield f"  Rationale: {' '.join(e.rationale.split())}"


def _metrics_table(info: rm.CardFacts) -> Iterator[str]:
    flat = metric_rules.flatten(_recorded_metrics(info))
    if not flat:
        return
    yield ""
    yield "## Metrics"
    yield ""
    yield "| metric | value |"
    yield "|---|---|"
    for k, v in flat.items():
        yield f"| {_cell(k)} | {_cell(v)} |"


def _seeds(doc: Sidecar | None) -> Iterator[str]:
    yield ""
    yield "## Seeds"
    yield ""
    seeds = doc.seeds if doc else None
    if not isinstance(seeds, Mapping) or not seeds:
        yield "_No seeds were recorded._"
        return
    yield ", ".join(f"`{_cell(k)}` = {_cell(v)}" for k, v in seeds.items())


def _environment(doc: Sidecar | None) -> Iterator[str]:
    env = doc.environment if doc else None
    if not isinstance(env, Mapping):
        return
    yield ""
    yield "## Environment"
    yield ""
    yield f"- Python {_cell(env.get('python'))} on {_cell(env.get('platform'))}"
    accel = env.get("accelerators") or []
    if isinstance(accel, list) and accel:
        names = [str(a.get("name", a)) if isinstance(a, Mapping) else str(a) for a in accel]
        yield f"- Accelerators: {_cell(', '.join(names))}"
    packages = env.get("packages")
    if isinstance(packages, Mapping):
        shown = [f"{p} {packages[p]}" for p in _PACKAGES if p in packages]
        if shown:
            yield f"- Packages: {_cell(', '.join(shown))} ({len(packages)} recorded in all)"


def _seals(info: rm.CardFacts) -> Iterator[str]:
    c = info.checkpoint
    yield ""
    yield "## Integrity"
    yield ""
    yield f"- sha256 (the seal): `{c.sha256}`"
    yield f"- DVC md5: `{c.md5}`, {c.size} bytes, at `{c.path}`"
    yield f"- save commit: `{c.commit}`"
    for d in _data(info.doc):
        yield f"- data input `{_cell(d.path)}`: md5 `{_cell(d.md5)}`"
    if info.problems:
        yield ""
        yield "**Verification found problems with this record:**"
        for p in info.problems:
            yield f"- {_cell(p)}"
    else:
        yield ""
        yield ("`git ckpt verify` (records) found nothing wrong; check the bytes with "
               f"`git ckpt verify {c.short_id}`.")


def _cell(value: Any) -> str:
    """One table cell: one line, pipes escaped (values come from history, never trusted)."""
    text = " ".join(str(value).split())
    return text.replace("|", "\\|")[:200]
