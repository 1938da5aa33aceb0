"""Text (rich), markdown (a PR-ready comment) and JSON views of a ``Diff``.

Both human formats are built from the same ``Block`` list, so they always say the same thing.
Nothing here prints: text becomes rich renderables for the command to print.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ckptgit.compare.result import (
    Change,
    CodeDiff,
    Diff,
    DistributionShift,
    MetricDelta,
    Side,
    SliceDelta,
    TensorsDiff,
    WeightsDiff,
)

MAX_ROWS = 40
_STYLE = {"better": "green", "worse": "bold red", "added": "green", "removed": "red",
          "changed": "yellow", "flagged": "bold red"}


@dataclass
class Block:
    title: str
    summary: str
    columns: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    styles: list[str | None] = field(default_factory=list)
    collapsed: bool = False  # markdown: inside <details>
    hidden: int = 0  # rows left out

    def add(self, row: list[str], style: str | None = None) -> None:
        if len(self.rows) >= MAX_ROWS:
            self.hidden += 1
            return
        self.rows.append(row)
        self.styles.append(style)


def value(v: Any, width: int = 48) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, float):
        return f"{v:.4g}" if math.isfinite(v) else str(v)
    if isinstance(v, int):
        return f"{v:,}" if abs(v) >= 10_000 else str(v)
    text = str(v)
    return text if len(text) <= width else text[: width - 1] + "…"


def signed(v: float | None, pct: bool = False) -> str:
    if v is None:
        return "—"
    return f"{v * 100:+.2f} %" if pct else f"{v:+.4g}"


def describe(s: Side) -> str:
    step = f" step {s.step}" if s.step is not None else ""
    return f"{s.name} {s.id[:8]}{step} ({s.created_at[:19].replace('T', ' ')})"


def headline(d: Diff) -> str:
    if d.same_checkpoint:
        return f"{describe(d.a)} is compared with itself: identical"
    verdict = "identical" if d.identical else "differ"
    return f"{describe(d.a)} → {describe(d.b)}: {verdict}"


# -- blocks ---------------------------------------------------------------------------------
def blocks(d: Diff, top: int = 15) -> list[Block]:
    out = []
    for name, section in d.sections.items():
        block = _BUILD[name](name, section, top) if name in _BUILD else None
        if block is not None:
            out.append(block)
    return out


def _metrics(_n: str, rows: list[MetricDelta], _t: int) -> Block | None:
    moved = sum(r.change != "same" for r in rows)
    if not moved:
        return None
    block = Block("Metrics", f"{moved} of {len(rows)} changed",
                  ["metric", "old", "new", "Δ", "Δ %", "goal", ""])
    for r in rows:
        verdict = r.change if r.change in ("added", "removed") else r.direction
        block.add([r.name, value(r.old), value(r.new), signed(r.abs_delta),
                   signed(r.rel_delta, pct=True), r.goal or "?",
                   "" if verdict in ("same", "n/a") else verdict], _STYLE.get(verdict))
    return block


def _changes(name: str, rows: list[Change], _t: int) -> Block | None:
    if not rows:
        return None
    block = Block(name.capitalize(), _count(rows, "change"), ["path", "change", "old", "new"],
                  collapsed=name == "environment" and len(rows) > 5)
    for c in rows:
        block.add([c.path, c.change, value(c.old), value(c.new)], _STYLE.get(c.change))
    return block


def _count(rows: list[Change], noun: str) -> str:
    kinds = {k: sum(c.change == k for c in rows) for k in ("added", "removed", "changed")}
    parts = [f"{n} {k}" for k, n in kinds.items() if n]
    return f"{len(rows)} {noun}{'s' if len(rows) != 1 else ''}: " + ", ".join(parts)


def _code(_n: str, c: CodeDiff, _t: int) -> Block | None:
    if c.empty:
        return None
    added = sum(f.added or 0 for f in c.files)
    deleted = sum(f.deleted or 0 for f in c.files)
    span = f"{(c.old_commit or '?')[:10]}..{(c.new_commit or '?')[:10]}"
    behind = f" ({c.commits_behind} only in the old one)" if c.commits_behind else ""
    block = Block("Code", f"{span}: {c.commits} commits{behind}, {len(c.files)} files "
                  f"changed (+{added} −{deleted})", ["file / field", "+", "−", "old → new"])
    for f in c.files:
        block.add([f.path, value(f.added), value(f.deleted), ""])
    for ch in c.changes:
        block.add([ch.path, "", "", f"{value(ch.old)} → {value(ch.new)}"], _STYLE["changed"])
    return block


def _tensors(_n: str, t: TensorsDiff, _top: int) -> Block | None:
    if not t.available:
        return Block("Tensors", "no tensor headers on one side (not a safetensors file)")
    if t.empty:
        return None
    delta = (t.new_parameters or 0) - (t.old_parameters or 0)
    block = Block("Tensors", f"parameters {value(t.old_parameters)} → {value(t.new_parameters)}"
                  f" ({delta:+,}); {len(t.added)} added, {len(t.removed)} removed, "
                  f"{len(t.changed)} reshaped or retyped",
                  ["tensor", "change", "old", "new"])
    for s in t.added:
        block.add([s.name, "added", "—", f"{s.dtype} {list(s.shape)}"], _STYLE["added"])
    for s in t.removed:
        block.add([s.name, "removed", f"{s.dtype} {list(s.shape)}", "—"], _STYLE["removed"])
    for c in t.changed:
        block.add([c.name, "changed", f"{c.old.dtype} {list(c.old.shape)}",
                   f"{c.new.dtype} {list(c.new.shape)}"], _STYLE["changed"])
    return block


def _weights(_n: str, w: WeightsDiff, top: int) -> Block | None:
    if w.identical_files:
        return Block("Weights", f"identical bytes (same sha256): all {len(w.tensors)} tensors "
                     "equal")
    counts: dict[str, int] = {}
    for t in w.tensors:
        counts[t.status] = counts.get(t.status, 0) + 1
    summary = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in sorted(counts.items()))
    if w.read is not None:  # directories: only shards whose seals differ are read
        summary += f"; {len(w.read)} shard file(s) read"
    block = Block("Weights", f"{len(w.tensors)} tensors: {summary}",
                  ["tensor / module", "rel L2", "max |Δ|", "cosine", ""])
    moved = sorted((t for t in w.tensors if t.status == "changed"),
                   key=lambda t: -(t.rel_l2 or 0.0))
    for m in w.modules[:top]:
        if m.changed:
            block.add([f"[{m.module}]", value(m.rel_l2), value(m.max_abs), "",
                       f"{m.changed}/{m.tensors} tensors changed"], "bold")
    for t in moved[:top]:
        block.add([t.name, value(t.rel_l2), value(t.max_abs), value(t.cosine), ""])
    for t in w.tensors:
        if t.status not in ("changed", "identical"):
            note = "not compared" if t.status.endswith("_changed") else ""
            block.add([t.name, "", "", "", f"{t.status.replace('_', ' ')} {note}".strip()],
                      _STYLE.get(t.status.split("_")[0], "yellow"))
    block.hidden += max(0, len(moved) - top)
    return block


def _distributions(_n: str, rows: list[DistributionShift], _t: int) -> Block | None:
    if not rows:
        return None
    flagged = sum(r.flagged for r in rows)
    block = Block("Distributions", f"{len(rows)} changed, {flagged} over threshold",
                  ["name", "kind", "shift", "threshold", ""])
    for r in rows:
        if r.kind == "calibration" and r.change == "changed":
            shift = f"ECE {value(r.old_ece)} → {value(r.new_ece)} ({signed(r.distance)})"
        elif r.change == "changed":
            shift = f"JS {value(r.distance)}"
        else:
            shift = r.change + (f" ({r.note})" if r.note else "")
        block.add([r.name, r.kind, shift, value(r.threshold), "FLAGGED" if r.flagged else ""],
                  _STYLE["flagged"] if r.flagged else None)
    return block


def _slices(_n: str, rows: list[SliceDelta], _t: int) -> Block | None:
    if not rows:
        return None
    block = Block("Slices", f"{len(rows)} slice metrics changed, by impact",
                  ["slice", "metric", "old", "new", "Δ", "impact", ""])
    for r in rows:
        verdict = r.change if r.change != "changed" else r.direction
        block.add([r.slice, r.metric, value(r.old), value(r.new), signed(r.delta),
                   signed(r.impact), "" if verdict == "n/a" else verdict], _STYLE.get(verdict))
    return block


_BUILD: dict[str, Any] = {
    "metrics": _metrics, "params": _changes, "seeds": _changes, "data": _changes,
    "environment": _changes, "code": _code, "tensors": _tensors, "weights": _weights,
    "distributions": _distributions, "slices": _slices,
}


# -- formats --------------------------------------------------------------------------------
def text(d: Diff, top: int = 15) -> list[Any]:
    """Rich renderables: a headline, then one table per section that differs."""
    from rich.table import Table
    from rich.text import Text

    items: list[Any] = [Text(headline(d), style="bold")]
    for b in blocks(d, top):
        items.append(Text(f"\n{b.title}: {b.summary}", style="bold cyan"))
        if not b.rows:
            continue
        tab = Table(show_edge=False, header_style="bold", pad_edge=False, box=None)
        for col in b.columns:
            tab.add_column(col, overflow="fold")
        for row, style in zip(b.rows, b.styles, strict=True):
            tab.add_row(*(Text(c) for c in row), style=style)  # values are never markup
        items.append(tab)
        if b.hidden:
            items.append(Text(f"… {b.hidden} more (--format json has all)", style="dim"))
    return items


def markdown(d: Diff, top: int = 15) -> str:
    """A pull-request comment: a summary table, then a section per difference."""
    lines = [f"### Checkpoint diff: `{d.a.name}` `{d.a.id[:8]}` → `{d.b.name}` `{d.b.id[:8]}`",
             "", "| | old | new |", "|---|---|---|",
             f"| id | `{d.a.id}` | `{d.b.id}` |",
             f"| commit | `{d.a.commit[:12]}` | `{d.b.commit[:12]}` |",
             f"| step | {value(d.a.step)} | {value(d.b.step)} |",
             f"| created (UTC) | {d.a.created_at[:19].replace('T', ' ')} | "
             f"{d.b.created_at[:19].replace('T', ' ')} |"]
    found = blocks(d, top)
    # metrics on different evaluation data: said before the metrics that it puts in doubt
    lines += [f"\n> **Warning:** {_cell(str(w.get('message', '')))}" for w in d.warnings]
    if d.identical:
        lines += ["", "**No differences**" + (" (same checkpoint)." if d.same_checkpoint
                                              else ".")]
    for b in found:
        lines += _md_block(b)
    return "\n".join(lines).rstrip() + "\n"


def _md_block(b: Block) -> list[str]:
    head = f"#### {b.title}" if not b.collapsed else f"<details><summary>{b.title}: " \
        f"{_cell(b.summary)}</summary>"
    out = ["", head, ""]
    if not b.collapsed:
        out += [b.summary, ""]
    if b.rows:
        out.append("| " + " | ".join(b.columns) + " |")
        out.append("|" + "---|" * len(b.columns))
        for row, style in zip(b.rows, b.styles, strict=True):
            cells = [_cell(c) for c in row]
            if style == _STYLE["worse"] and cells[-1]:
                cells[-1] = f"**{cells[-1]}**"
            out.append("| " + " | ".join(cells) + " |")
        if b.hidden:
            out += ["", f"… and {b.hidden} more."]
    if b.collapsed:
        out += ["", "</details>"]
    return out


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
