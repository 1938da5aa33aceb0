"""The executive summary in plain sentences: what each stage serves and why, and whether the
records and signatures check out. An event the verifier rejected is called UNVERIFIED and
its claimed signer is shown as a claim, never as a signature."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import escape
from typing import Any

from ckptgit.report import model as rm

_SAFE = re.compile(r"[^A-Za-z0-9._-]")


def _e(value: Any) -> str:
    return escape(" ".join(str(value).split()))


def _day(iso: str) -> str:
    return iso.replace("T", " ").removesuffix("Z")[:16] + " UTC"


def body(site: rm.Site) -> str:
    if not site.names:
        return _empty(site)
    parts = ["<h2>What is in each stage, and why</h2>"]
    for report in site.names:
        parts.append(f"<div class=card><h3><a href='{_page(report.name)}'>{_e(report.name)}</a>"
                     f"</h3>{''.join(_holding_sentences(site, report))}</div>")
    if any(n.events for n in site.names):
        parts.append("<h2>Stage timeline</h2><div class=card><div class=chart "
                     "id=chart-timeline></div></div>")
    parts.append("<h2>Integrity</h2>" + _integrity(site.integrity))
    parts.append("<h2>Open findings</h2>" + _findings(site.findings))
    parts.append("<h2>Stage rules</h2><div class=card><ul>" + "".join(
        f"<li><b>{_e(s)}</b>: {_e(rule)}</li>" for s, rule in site.config_stage_rules.items())
        + "</ul></div>")
    return "".join(parts)


def page_file(name: str) -> str:
    """A name's page: names come from history, so the file name is made safe here."""
    return f"name-{_SAFE.sub('_', name)}.html"


def _page(name: str) -> str:
    return escape(page_file(name))


def _empty(site: rm.Site) -> str:
    return ("<div class='card empty'><h2>No checkpoints yet</h2>"
            f"<p>{_e(site.repo)} has no saved checkpoints, so there is nothing to chart. "
            "Save the first one and run the report again:</p>"
            "<pre><code>git ckpt save models/model.safetensors --name clf "
            "--metrics metrics.json\ngit ckpt report --open</code></pre>"
            "<p class=muted>Promotions, reverts and the executive summary appear here as soon "
            "as they exist.</p></div>")


def _holding_sentences(site: rm.Site, report: rm.NameReport) -> Iterator[str]:
    if not report.holdings:
        latest = report.checkpoints[-1] if report.checkpoints else None
        yield (f"<p>No stage holds {_e(report.name)} yet. "
               + (f"The latest of its {len(report.checkpoints)} checkpoints is "
                  f"<code>{_e(latest.short_id)}</code>, saved {_day(latest.created_at)}.</p>"
                  if latest else "</p>"))
        return
    for h in reversed(report.holdings):
        yield "<p>" + holding_sentence(h) + "</p>"


def holding_sentence(h: rm.Holding) -> str:
    ev = h.event
    ckpt = h.checkpoint
    what = (f"checkpoint <code>{_e(ckpt.short_id)}</code>"
            + (f" (step {ckpt.step})" if ckpt.step is not None else "")
            if ckpt else f"commit <code>{_e(ev.commit[:12])}</code> (no checkpoint record)")
    verb = "was reverted to" if ev.action == "revert" else "has served"
    text = f"<b>{_e(h.stage.capitalize())}</b> {verb} {what} since {_day(ev.when)}. "
    if ev.verified:
        text += f"<span class=ok>Signed by {_e(ev.signer)}</span>"
    else:
        text += (f"<span class=warn>UNVERIFIED</span>: "
                 f"{_e('; '.join(ev.problems))} (the tag claims {_e(ev.signer or 'no signer')})")
    text += (f", approved by {_e(', '.join(ev.approvers))}. " if ev.approvers
             else ", with no approvers. ")
    if ev.rationale:
        text += f"Why: “{_e(ev.rationale)}”. "
    return text + _comparison(h)


def _comparison(h: rm.Holding) -> str:
    if h.previous is None or h.previous_checkpoint is None:
        return "It is the first checkpoint to hold this stage."
    prev = f"the previous holder <code>{_e(h.previous_checkpoint.short_id)}</code>"
    moved = [m for m in h.comparison if m.direction in ("better", "worse")][:4]
    if not moved:
        return f"Against {prev}, no key metric moved."
    parts = [f"{_e(m.metric)} {_fmt(m.old)} → {_fmt(m.new)} "
             f"<span class={'ok' if m.direction == 'better' else 'bad'}>({m.direction})</span>"
             for m in moved]
    return f"Against {prev}: " + ", ".join(parts) + "."


def _fmt(value: Any) -> str:
    return _e(f"{value:.4g}" if isinstance(value, float) else value)


def _integrity(i: rm.Integrity) -> str:
    if i.ok:
        head = (f"<p><span class=ok>All {i.checkpoints} checkpoint records and {i.tags} stage "
                "tags check out.</span> Records were checked against their seals and schema "
                "(no bytes were hashed: run <code>git ckpt verify --all</code> for that).</p>")
        return f"<div class=card>{head}</div>"
    rows = "".join(f"<li><code>{_e(s)}</code>: {_e(m)}</li>" for s, m in i.failed[:50])
    tags = "".join(f"<li><code>{_e(t)}</code>: {_e(m)}</li>" for t, m in i.bad_tags[:50])
    return ("<div class=card><p><span class=bad>Verification found problems.</span> "
            f"{len(i.failed)} of {i.checkpoints} checkpoint records and {len(i.bad_tags)} of "
            f"{i.tags} stage tags failed; their events are marked UNVERIFIED throughout.</p>"
            f"<ul>{rows}{tags}</ul></div>")


def _findings(found: tuple[rm.PolicyFinding, ...]) -> str:
    if not found:
        return "<div class=card><p class=ok>No open findings from <code>git ckpt check</code>."\
               "</p></div>"
    rows = "".join(f"<li><span class={'bad' if f.severity == 'error' else 'warn'}>"
                   f"{_e(f.severity)}</span> {_e(f.name)} <code>{_e(f.ckpt_id[:8])}</code> "
                   f"({_e(f.rule)}): {_e(f.message)}</li>" for f in found[:50])
    return f"<div class=card><p>{len(found)} open finding(s):</p><ul>{rows}</ul></div>"


def name_sentences(site: rm.Site, report: rm.NameReport) -> str:
    n = len(report.checkpoints)
    first = report.checkpoints[0].created_at if n else ""
    head = (f"<p>{n} checkpoint{'s' if n != 1 else ''} from {_day(first)}"
            f" to {_day(report.checkpoints[-1].created_at)}; {len(report.events)} stage "
            "event(s). Click a point to open its model card.</p>") if n else ""
    return "<div class=card>" + head + "".join(_holding_sentences(site, report)) + "</div>"


def diff_table(view: rm.DiffView) -> str:
    rows = "".join(f"<tr><td>{_e(m.metric)}</td><td>{_fmt(m.old)}</td><td>{_fmt(m.new)}</td>"
                   f"<td>{_e(m.direction)}</td></tr>" for m in view.metrics)
    params = "".join(f"<tr><td>{_e(p)}</td><td>{_e(c)}</td><td>{_fmt(o)}</td><td>{_fmt(n)}"
                     f"</td></tr>" for p, c, o, n in view.params[:40])
    return (f"<div class=card><p>Latest <code>{_e(view.new.short_id)}</code> against "
            f"<code>{_e(view.old.short_id)}</code>, which holds {_e(view.stage)}.</p>"
            f"<table><tr><th>metric</th><th>{_e(view.stage)}</th><th>latest</th><th></th></tr>"
            f"{rows}</table>"
            + (f"<table><tr><th>parameter</th><th>change</th><th>{_e(view.stage)}</th>"
               f"<th>latest</th></tr>{params}</table>" if params else "") + "</div>")
