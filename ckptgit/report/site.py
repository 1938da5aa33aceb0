"""Write the report: ``index.html`` (the executive summary), one page per name, and
``plotly.min.js`` once beside them, so every page works offline and stays small.

Text from history is escaped everywhere; figure JSON is embedded with ``<``, ``>`` and ``&``
escaped, so no sidecar or tag can close the script element it sits in.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from html import escape
from pathlib import Path
from typing import Any

from ckptgit.report import charts, summary
from ckptgit.report import model as rm
from ckptgit.report.charts import holding_labels
from ckptgit.report.summary import page_file

PLOTLY_JS = "plotly.min.js"

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1c2733;
background:#f5f7fa}
header{background:#1f2a37;color:#fff;padding:14px 28px}header a{color:#cfe3ff;margin-right:14px}
main{max-width:1200px;margin:0 auto;padding:18px 28px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:26px 0 8px}
.card{background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.08);padding:14px 18px;
margin:12px 0}.chart{min-height:200px}
.ok{color:#2e7d32;font-weight:600}.bad{color:#c62828;font-weight:600}
.warn{color:#ef6c00;font-weight:600}.muted{color:#607d8b}
table{border-collapse:collapse;width:100%;font-size:13px}
td,th{border-bottom:1px solid #e3e8ee;padding:4px 8px;text-align:left;vertical-align:top}
.badge{display:inline-block;border-radius:10px;padding:1px 8px;font-size:12px;color:#fff}
.badge.ok{background:#2e7d32}.badge.bad{background:#c62828}.badge.warn{background:#ef6c00}
code{background:#eef2f6;padding:0 4px;border-radius:3px}
"""

SCRIPT = """
for (const el of document.querySelectorAll('script[type="application/json"][data-chart]')) {
  const fig = JSON.parse(el.textContent);
  const div = document.getElementById(el.dataset.chart);
  Plotly.newPlot(div, fig.data, fig.layout, {displaylogo: false, responsive: true});
  div.on('plotly_click', (ev) => {
    const card = ev.points && ev.points[0] && ev.points[0].customdata;
    if (typeof card === 'string' && /^cards\\/[A-Za-z0-9._-]+\\.md$/.test(card)) {
      window.location.href = card;
    }
  });
}
"""


def write(site: rm.Site, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    _write_plotly(out)
    pages = [out / "index.html"]
    pages[0].write_text(_page(site, "Summary", summary.body(site), _summary_charts(site)),
                        encoding="utf-8")
    for report in site.names:
        path = out / page_file(report.name)
        figs = _name_charts(site, report)
        body = _name_body(site, report, {fid for fid, _ in figs})
        path.write_text(_page(site, report.name, body, figs), encoding="utf-8")
        pages.append(path)
    return pages


def _write_plotly(out: Path) -> None:
    """plotly.js as the plotly package ships it (what ``plotly.offline.get_plotlyjs`` reads),
    copied once; without importing plotly's Python side, which takes most of a second."""
    import shutil
    from importlib import resources

    source = resources.files("plotly") / "package_data" / PLOTLY_JS
    target = out / PLOTLY_JS
    with resources.as_file(source) as path:
        if not target.is_file() or target.stat().st_size != path.stat().st_size:
            shutil.copyfile(path, target)


def _page(site: rm.Site, title: str, body: str, figures: list[tuple[str, Any]]) -> str:
    nav = "".join(f'<a href="{page_file(n.name)}">{escape(n.name)}</a>' for n in site.names)
    blocks = "".join(_embed(fid, fig) for fid, fig in figures)
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8>"
            f"<meta name=viewport content='width=device-width,initial-scale=1'>"
            f"<title>{escape(title)} · ckpt report · {escape(site.repo)}</title>"
            f"<style>{STYLE}</style><script src='{PLOTLY_JS}'></script></head><body>"
            f"<header><h1>{escape(site.repo)}: checkpoint report</h1>"
            f"<a href='index.html'>Summary</a>{nav}"
            f"<span class=muted>generated {escape(site.generated_at)}</span></header>"
            f"<main>{body}</main>{blocks}<script>{SCRIPT}</script></body></html>")


def _embed(fid: str, fig: Any) -> str:
    text = json.dumps(fig, default=str, separators=(",", ":"), allow_nan=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f'<script type="application/json" data-chart="{fid}">{text}</script>'


def _chart(fid: str) -> str:
    return f'<div class="card"><div class="chart" id="{fid}"></div></div>'


def _summary_charts(site: rm.Site) -> list[tuple[str, Any]]:
    events = [e for n in site.names for e in n.events]
    fig = charts.timeline(events, site.stages, site.generated_at, label="name")
    return [("chart-timeline", fig)] if fig else []


def _name_charts(site: rm.Site, report: rm.NameReport) -> list[tuple[str, Any]]:
    figs: list[tuple[str, Any]] = [
        ("chart-steps", charts.trajectory(report, site.locks, "step", site.generated_at)),
        ("chart-saves", charts.trajectory(report, site.locks, "time", site.generated_at)),
        ("chart-lineage", charts.lineage(report)),
        ("chart-timeline", charts.timeline(report.events, site.stages, site.generated_at)),
    ]
    if report.diff is not None:
        figs += [("chart-diff", charts.metric_deltas(
                     report.diff.metrics, f"Latest vs {report.diff.stage} holder: metrics")),
                 ("chart-slices", charts.slice_deltas(report.diff)),
                 ("chart-modules", charts.module_changes(report.diff))]
    return [(fid, _clean(fig)) for fid, fig in figs if fig is not None]


def _clean(fig: Any) -> Any:
    """NaN and infinity are not JSON: plotly leaves a gap for null."""
    if isinstance(fig, float):
        return fig if fig == fig and abs(fig) != float("inf") else None
    if isinstance(fig, dict):
        return {k: _clean(v) for k, v in fig.items()}
    if isinstance(fig, (list, tuple)):
        return [_clean(v) for v in fig]
    if hasattr(fig, "tolist"):
        return _clean(fig.tolist())
    return fig


def _name_body(site: rm.Site, report: rm.NameReport, ids: set[str]) -> str:
    parts = [f"<h1>{escape(report.name)}</h1>", summary.name_sentences(site, report)]
    for fid, title in (("chart-steps", "Metric trajectories over steps"),
                       ("chart-saves", "Metric trajectories over saves"),
                       ("chart-lineage", "Lineage"), ("chart-timeline", "Stage timeline"),
                       ("chart-diff", "Latest diff against the current holder"),
                       ("chart-slices", "Slice attribution"),
                       ("chart-modules", "Module attribution")):
        if fid in ids:
            parts.append(f"<h2>{title}</h2>{_chart(fid)}")
    if report.diff is not None:
        parts.append(summary.diff_table(report.diff))
    parts.append("<h2>Checkpoints</h2>" + "".join(_checkpoint_table(report)))
    return "".join(parts)


def _checkpoint_table(report: rm.NameReport) -> Iterator[str]:
    held = holding_labels(report)
    yield "<div class=card><table><tr><th>id</th><th>saved</th><th>step</th><th>stages</th>"
    yield "".join(f"<th>{escape(k)}</th>" for k in report.key_metrics) + "<th>card</th></tr>"
    from ckptgit.compare import metrics as metric_rules

    for c in reversed(report.checkpoints):
        flat = metric_rules.flatten(c.metrics)
        cells = "".join(f"<td>{escape(_fmt(flat.get(k)))}</td>" for k in report.key_metrics)
        card = report.cards.get(c.id)
        link = f"<a href='{escape(card)}'>card</a>" if card else ""
        yield (f"<tr><td><code>{escape(c.short_id)}</code></td><td>{escape(c.created_at)}</td>"
               f"<td>{'' if c.step is None else c.step}</td>"
               f"<td>{escape(', '.join(held.get(c.id, [])))}</td>{cells}<td>{link}</td></tr>")
    yield "</table></div>"


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
