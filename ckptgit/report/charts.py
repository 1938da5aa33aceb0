"""Plotly figures for the report, as plotly's figure JSON (plotly.js draws them in the page).

Every text that came from history (names, rationales, signers, metric names) is HTML-escaped
before it goes into a hover label or annotation: plotly renders a subset of HTML there.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

from ckptgit.compare import metrics as metric_rules
from ckptgit.model import Checkpoint
from ckptgit.report import model as rm

Figure = dict[str, Any]
GOOD, BAD, NEUTRAL, WARN = "#2e7d32", "#c62828", "#607d8b", "#ef6c00"
_LAYOUT = {"template": "plotly_white", "margin": {"l": 60, "r": 20, "t": 40, "b": 40},
           "hoverlabel": {"align": "left"}, "font": {"size": 12}}


def _figure(data: list[Any], layout: dict[str, Any]) -> Figure:
    """Plotly's figure JSON, for plotly.js in the page. Not built through plotly's Python
    validators (seconds at a thousand points); the tests hold every figure against them."""
    return {"data": data, "layout": {**_LAYOUT, **layout}}


def _e(value: Any) -> str:
    return escape(" ".join(str(value).split()))[:300]


def _event_label(ev: rm.StageEvent) -> str:
    what = ev.stage or ev.version or ""
    mark = "" if ev.verified else "UNVERIFIED "
    return f"{mark}{ev.action} {what}"


def _event_color(ev: rm.StageEvent) -> str:
    if not ev.verified:
        return WARN
    return BAD if ev.action in ("revert", "unassign", "deprecate") else GOOD


def event_hover(ev: rm.StageEvent) -> str:
    lines = [f"<b>{_e(_event_label(ev))}</b> ({_e(ev.tag)})", f"when: {_e(ev.when)}"]
    if ev.verified:
        lines.append(f"signed by: {_e(ev.signer)}")
    else:
        lines.append(f"NOT VERIFIED: {_e('; '.join(ev.problems))}")
        lines.append(f"the tag claims: {_e(ev.signer or 'no signer')}")
    lines.append(f"approved by: {_e(', '.join(ev.approvers) or 'nobody')}")
    if ev.rationale:
        lines.append(f"rationale: {_e(ev.rationale)}")
    if ev.reverts:
        lines.append(f"reverts: {_e(ev.reverts)}")
    return "<br>".join(lines)


def _point_hover(c: Checkpoint, keys: Sequence[str]) -> str:
    flat = metric_rules.flatten(c.metrics)
    parts = [f"<b>{_e(c.short_id)}</b> {_e(c.created_at)}",
             f"step {c.step}" if c.step is not None else "no step recorded"]
    parts += [f"{_e(k)}: {_e(flat[k])}" for k in keys if k in flat]
    return "<br>".join(parts)


def trajectory(report: rm.NameReport, locks: Sequence[rm.LockMark], by: str,
               now: str) -> Figure | None:
    """Each key metric over steps (``by="step"``) or over saves in time (``by="time"``), one
    row per metric sharing one x axis, with promotions, reverts and pauses (locks) marked.

    Built as plotly's JSON directly: ``make_subplots`` and its validators took seconds for a
    thousand points and a few hundred marks."""
    keys = report.key_metrics
    ckpts = [c for c in report.checkpoints if by == "time" or c.step is not None]
    if not keys or not ckpts:
        return None
    hovers = [_point_hover(c, keys) for c in ckpts]
    cards = [report.cards.get(c.id) for c in ckpts]
    xs = [c.step if by == "step" else _t(c.created_at) for c in ckpts]
    flat = [metric_rules.flatten(c.metrics) for c in ckpts]
    gap, rows = 0.04, len(keys)
    height = (1 - gap * (rows - 1)) / rows
    traces: list[dict[str, Any]] = []
    layout: dict[str, Any] = {**_LAYOUT, "height": 140 + 170 * rows, "showlegend": False,
                              "title": {"text": "Metrics over "
                                        + ("steps" if by == "step" else "saves")},
                              "xaxis": {"anchor": f"y{rows}" if rows > 1 else "y",
                                        "type": "linear" if by == "step" else "date"}}
    titles = []
    for row, key in enumerate(keys, start=1):
        axis = "y" if row == 1 else f"y{row}"
        top = 1 - (row - 1) * (height + gap)
        layout["yaxis" if row == 1 else f"yaxis{row}"] = {"domain": [top - height, top],
                                                          "anchor": "x"}
        titles.append({"text": f"<b>{escape(key)}</b>", "x": 0, "xref": "paper", "y": top,
                       "yref": "paper", "xanchor": "left", "yanchor": "bottom",
                       "showarrow": False, "font": {"size": 11}})
        traces.append({"type": "scatter", "mode": "lines+markers", "name": escape(key),
                       "x": xs, "y": [metric_rules.number(f.get(key)) for f in flat],
                       "xaxis": "x", "yaxis": axis, "hovertext": hovers, "hoverinfo": "text",
                       "customdata": cards, "marker": {"size": 5}})
    shapes, notes = _marks(report, locks, by, now)
    layout["shapes"] = shapes
    layout["annotations"] = titles + notes
    return {"data": traces, "layout": layout}


def _marks(report: rm.NameReport, locks: Sequence[rm.LockMark], by: str,
           now: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One full-height line per event (x of the top axis, which every row shares) and a
    shaded band per pause; built as plain dicts, as plotly's helpers add one per row."""
    by_id = {c.id: c for c in report.checkpoints}
    shapes: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    for ev in report.events:
        x = _event_x(ev, by_id, by)
        if x is None:
            continue
        color = _event_color(ev)
        shapes.append({"type": "line", "xref": "x", "yref": "paper", "x0": x, "x1": x,
                       "y0": 0, "y1": 1, "line": {"color": color, "dash": "dash", "width": 1}})
        notes.append({"x": x, "xref": "x", "y": 1.0, "yref": "paper", "showarrow": False,
                      "text": escape(_event_label(ev)), "textangle": -90, "xanchor": "right",
                      "yanchor": "top", "font": {"size": 9, "color": color},
                      "hovertext": event_hover(ev)})
    if by == "time":
        for start, end, mark in pauses(locks, now):
            shapes.append({"type": "rect", "xref": "x", "yref": "paper", "x0": start,
                           "x1": end, "y0": 0, "y1": 1, "fillcolor": NEUTRAL, "opacity": 0.15,
                           "line": {"width": 0}})
            notes.append({"x": start, "xref": "x", "y": 0, "yref": "paper", "showarrow": False,
                          "text": escape(f"{mark.stage} frozen"), "xanchor": "left",
                          "yanchor": "bottom", "font": {"size": 9, "color": NEUTRAL}})
    return shapes, notes


def _event_x(ev: rm.StageEvent, by_id: dict[str, Checkpoint], by: str) -> Any:
    if by == "time":
        return _t(ev.when)
    ckpt = by_id.get(ev.ckpt_id or "")
    return ckpt.step if ckpt is not None else None


def pauses(locks: Sequence[rm.LockMark], now: str) -> list[tuple[str, str, rm.LockMark]]:
    """(start, end, lock) for each period a stage was frozen; an open one lasts until now."""
    out = []
    open_: dict[str, rm.LockMark] = {}
    for mark in sorted(locks, key=lambda m: m.when):
        if mark.kind == "lock":
            open_.setdefault(mark.stage, mark)
        elif mark.stage in open_:
            start = open_.pop(mark.stage)
            out.append((_t(start.when), _t(mark.when), start))
    for mark in open_.values():
        out.append((_t(mark.when), _t(now), mark))
    return out


def _t(iso: str) -> str:
    """ISO 8601 UTC as plotly reads dates ('YYYY-MM-DD HH:MM:SS.ffffff', no zone)."""
    return iso.replace("T", " ").removesuffix("Z").removesuffix("+00:00")


def lineage(report: rm.NameReport) -> Figure:
    """Checkpoints as nodes in save order, edges to their parents; a fork opens a new lane."""
    ckpts = report.checkpoints
    pos = {c.id: i for i, c in enumerate(ckpts)}
    lanes = _lanes(ckpts)
    held = holding_labels(report)
    ex: list[Any] = []
    ey: list[Any] = []
    for c in ckpts:
        if c.parent in pos:
            ex += [pos[c.parent], pos[c.id], None]
            ey += [lanes[c.parent], lanes[c.id], None]
    nodes = {
        "type": "scatter", "mode": "markers+text", "x": [pos[c.id] for c in ckpts],
        "y": [lanes[c.id] for c in ckpts],
        "text": [escape(", ".join(held.get(c.id, []))) for c in ckpts],
        "textposition": "top center", "hoverinfo": "text",
        "hovertext": [_point_hover(c, report.key_metrics) for c in ckpts],
        "customdata": [report.cards.get(c.id) for c in ckpts],
        "marker": {"size": [14 if c.id in held else 8 for c in ckpts],
                   "color": [GOOD if c.id in held else NEUTRAL for c in ckpts]},
    }
    edges = {"type": "scatter", "mode": "lines", "x": ex, "y": ey, "hoverinfo": "skip",
             "line": {"color": "#b0bec5", "width": 1}}
    n_lanes = max(lanes.values(), default=0) + 1
    return _figure([edges, nodes], {
        "title": {"text": "Lineage (parents and branches)"}, "showlegend": False,
        "height": 220 + 40 * min(n_lanes, 15),
        "xaxis": {"title": {"text": "save #"}},
        "yaxis": {"title": {"text": "branch"}, "dtick": 1, "zeroline": False}})


def holding_labels(report: rm.NameReport) -> dict[str, list[str]]:
    """checkpoint id -> the stages it holds, each marked when its tag is not verified."""
    held: dict[str, list[str]] = {}
    for h in report.holdings:
        if h.checkpoint is not None:
            mark = "" if h.event.verified else " (UNVERIFIED)"
            held.setdefault(h.checkpoint.id, []).append(h.stage + mark)
    return held


def _lanes(ckpts: Sequence[Checkpoint]) -> dict[str, int]:
    lanes: dict[str, int] = {}
    tips: dict[int, str] = {}  # lane -> the id at its tip
    for c in ckpts:
        lane = lanes.get(c.parent or "")
        if lane is None or tips.get(lane) != c.parent:
            lane = len(tips)
        lanes[c.id] = lane
        tips[lane] = c.id
    return lanes


def timeline(events: Iterable[rm.StageEvent], stages: Sequence[str], now: str,
             label: str = "stage") -> Figure | None:
    """Who held each stage when: one bar per holding, coloured by the verifier's verdict."""
    rows: dict[str, list[rm.StageEvent]] = {}
    for ev in sorted(events, key=lambda e: e.when):
        if ev.stage is not None and ev.kind in ("assign", "unassign"):
            rows.setdefault(f"{ev.name} · {ev.stage}" if label == "name" else ev.stage,
                            []).append(ev)
    if not rows:
        return None
    order = {s: i for i, s in enumerate(stages)}
    traces = []
    # a holding per segment; neighbours alternate shades so a handover stays visible
    kinds = (("verified", True, 0, GOOD), ("verified", True, 1, "#81c784"),
             ("UNVERIFIED", False, 0, WARN), ("UNVERIFIED", False, 1, "#ffb74d"))
    in_legend: set[str] = set()
    for label, verified, shade, color in kinds:
        xs: list[Any] = []
        ys: list[Any] = []
        hover: list[Any] = []
        for row, evs in rows.items():
            held = [ev for ev in evs if ev.kind == "assign"]
            for i, ev in enumerate(evs):
                if ev.verified != verified or ev.kind != "assign" or \
                        held.index(ev) % 2 != shade:
                    continue
                end = evs[i + 1].when if i + 1 < len(evs) else now
                text = f"holder {_e((ev.ckpt_id or ev.commit)[:8])}<br>{event_hover(ev)}"
                xs += [_t(ev.when), _t(end), None]
                ys += [escape(row)] * 2 + [None]
                hover += [text, text, None]
        if xs:
            traces.append({"type": "scatter", "mode": "lines+markers", "x": xs, "y": ys,
                           "hovertext": hover, "hoverinfo": "text", "connectgaps": False,
                           "name": label, "legendgroup": label,
                           "showlegend": label not in in_legend,
                           "line": {"width": 14, "color": color},
                           "marker": {"size": 10,
                                      "symbol": "line-ns-open" if verified else "x"}})
            in_legend.add(label)
    if not traces:  # only unassignments: nothing was held
        return None
    names = sorted(rows, key=lambda r: (order.get(r.rsplit(" · ", 1)[-1], 99), r))
    return _figure(traces, {
        "title": {"text": "Stage timeline (who held what, when)"},
        "height": 160 + 45 * len(rows), "xaxis": {"type": "date"},
        "yaxis": {"categoryorder": "array", "categoryarray": [escape(r) for r in names],
                  "automargin": True},
        "legend": {"orientation": "h", "y": -0.2}})


def metric_deltas(lines: Sequence[rm.MetricLine], title: str) -> Figure | None:
    rows = [m for m in lines if m.rel_delta is not None]
    if not rows:
        return None
    color = [GOOD if m.direction == "better" else BAD if m.direction == "worse" else NEUTRAL
             for m in rows]
    return _figure([{
        "type": "bar", "orientation": "h", "y": [escape(m.metric) for m in rows],
        "x": [100 * (m.rel_delta or 0.0) for m in rows], "marker": {"color": color},
        "hovertext": [f"{_e(m.metric)}: {_e(m.old)} → {_e(m.new)} ({m.direction})"
                      for m in rows], "hoverinfo": "text"}],
        {"title": {"text": title}, "height": 160 + 28 * len(rows),
         "xaxis": {"title": {"text": "relative change, %"}}, "yaxis": {"automargin": True}})


def slice_deltas(view: rm.DiffView) -> Figure | None:
    rows = sorted(view.slices, key=lambda s: abs(s[2]), reverse=True)[:30]
    if not rows:
        return None
    return _figure([{
        "type": "bar", "orientation": "h", "y": [escape(f"{s} · {m}") for s, m, _ in rows],
        "x": [d for _, _, d in rows], "marker": {"color": [GOOD if d >= 0 else BAD
                                                            for _, _, d in rows]}}],
        {"title": {"text": "Slices that moved (new − holder)"},
         "height": 160 + 26 * len(rows), "yaxis": {"autorange": "reversed", "automargin": True}})


def module_changes(view: rm.DiffView) -> Figure | None:
    rows = view.modules[:40]
    if not rows:
        return None
    mods = [escape(m) for m, *_ in rows]
    bars = [{"type": "bar", "orientation": "h", "name": label, "y": mods,
             "x": [r[i] for r in rows], "marker": {"color": color}}
            for i, label, color in ((1, "tensors added", GOOD), (2, "tensors removed", BAD),
                                    (3, "reshaped / retyped", WARN))]
    return _figure(bars, {"title": {"text": "Modules whose tensors changed"}, "barmode": "stack",
                          "height": 180 + 24 * len(rows),
                          "yaxis": {"autorange": "reversed", "automargin": True}})
