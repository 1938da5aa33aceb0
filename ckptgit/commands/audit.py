"""``git ckpt audit``: the audit as text, JSON, Markdown or HTML; for auditors, a one-page
summary comes first."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from ckptgit.ops.audit import Audit, Event


@click.command("audit")
@click.argument("name", required=False)
@click.option("--since", metavar="TIME", help="Only events from TIME on (ISO 8601).")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown", "html"]),
              default="text", show_default=True)
@click.option("--offline", is_flag=True, help="Verify bytes without reading the DVC remote.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to a file.")
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
def command(name: str | None, since: str | None, fmt: str, offline: bool,
            output: str | None, as_json: bool) -> int:
    """The chain of custody of checkpoints (of NAME, or all), in time order.

    Every save (who, when, code commit, data inputs, seal) and every promotion, revert,
    deprecation and lock (signer, rationale, approvers), each with the verdict of verify.
    Markdown and HTML open with a one-page summary for auditors. Exit 3 when any event
    fails verification.

    \b
    Examples:
      git ckpt audit
      git ckpt audit clf --since 2024-05-01 --format markdown
      git ckpt audit --format html -o audit.html
    """
    from pathlib import Path

    from ckptgit.ops.audit import audit
    from ckptgit.repo import Repo

    fmt = "json" if as_json else fmt
    result = audit(Repo.open("."), name, since, offline)
    text = render(result, fmt)
    if output:
        Path(output).write_text(text)
    else:
        click.echo(text, nl=False)
    return 3 if result.failures else 0

_NOT_TAGS = ("save", "sign", "migrate", "pause", "resume", "prune")


def render(audit: Audit, fmt: str) -> str:
    return {"text": _text, "json": _json, "markdown": _markdown, "html": _html}[fmt](audit)


def summary(audit: Audit) -> dict[str, Any]:
    saves = [e for e in audit.events if e.action == "save"]
    signed = [e for e in audit.events if e.action == "sign"]
    tags = [e for e in audit.events if e.action not in _NOT_TAGS]
    return {
        "repository": audit.repo, "head": audit.head,
        "period": f"{audit.events[0].when} to {audit.events[-1].when}" if audit.events else "-",
        "checkpoints": len(saves), "tag_events": len(tags), "signatures": len(signed),
        "migrations": sum(e.action == "migrate" for e in audit.events),
        "signers": sorted({e.who for e in tags} | {e.details.get("signer") or e.who
                                                   for e in signed}),
        "stages": audit.holders,
        "failures": len(audit.failures),
        "verdict": "every event verified" if not audit.failures else
                   f"{len(audit.failures)} event(s) failed verification",
    }


def _what(e: Event) -> str:
    d = e.details
    if e.action == "save" and "id" not in d:  # a save whose record was refused
        return f"commit {str(d.get('commit', '?'))[:12]}: record refused; see 'git ckpt verify'"
    if e.action == "save":
        data = ", ".join(f"{x['path']}@{str(x['md5'])[:8]}" for x in d.get("data") or [])
        code = str(d.get("code_commit") or "?")[:12] + (" (dirty)" if d.get("dirty") else "")
        return (f"{d['id'][:8]} seal {d['seal'][:23]}… code {code}"
                + (f" data {data}" if data else ""))
    if e.action == "migrate":
        return (f"commit {d['commit'][:12]} schema {d['migrated']}: "
                f"{', '.join(d['sidecars'])}")
    if e.action == "sign":
        signer = f" ({d['signer']})" if d.get("signer") else ""
        return (f"{str(d.get('id', '?'))[:8]} OMS signature {d.get('signature', '?')} key "
                f"{str(d.get('key') or '?')[:23]}…{signer}")
    if e.action in ("pause", "resume", "prune"):
        return _policy_what(e)
    parts = [d.get("tag", "")]
    if d.get("id"):
        parts.append(f"checkpoint {str(d['id'])[:8]}")
    if d.get("rationale"):
        parts.append(f"rationale: {d['rationale']}")
    if d.get("approved_by"):
        parts.append(f"approved by {', '.join(d['approved_by'])}")
    if d.get("reverts"):
        parts.append(f"reverts {d['reverts']}")
    return "; ".join(p for p in parts if p)


def _policy_what(e: Event) -> str:
    d = e.details
    if e.action == "prune":
        return (f"{len(d.get('pruned') or [])} checkpoint(s) pruned, {d.get('freed')} bytes "
                f"freed ({d.get('record')})")
    rule = f"rule {d['rule']}: " if d.get("rule") else ""
    return f"{rule}{d.get('reason', '')} ({d.get('record')})"


def _text(audit: Audit) -> str:
    lines = []
    for e in audit.events:
        mark = "ok" if e.status == "ok" else e.status.upper()
        lines.append(f"{e.when}  {e.action:<9} {e.name:<16} {e.who:<32} {mark:<6} {_what(e)}")
        lines += [f"{'':>22}! {p}" for p in e.problems]
    s = summary(audit)
    signed = f", {s['signatures']} signatures" if s["signatures"] else ""
    lines.append(f"-- {s['checkpoints']} saves, {s['tag_events']} tag events{signed}: "
                 f"{s['verdict']}")
    return "\n".join(lines) + "\n"


def _json(audit: Audit) -> str:
    # the standard library indents in pure Python: 10,000 saves took seconds (json_text)
    from ckptgit.commands._common import json_text

    return json_text({"summary": summary(audit),
                      "events": [e.to_dict() for e in audit.events]}) + "\n"


def _summary_rows(audit: Audit) -> list[tuple[str, str]]:
    s = summary(audit)
    stages = ", ".join(f"{k} = {v[:8]}" for k, v in sorted(s["stages"].items())) or "none"
    return [("Verdict", s["verdict"]), ("Repository", s["repository"]),
            ("HEAD", str(s["head"])), ("Period", s["period"]),
            ("Checkpoints saved", str(s["checkpoints"])), ("Tag events", str(s["tag_events"])),
            ("OMS signatures", str(s["signatures"])),
            ("Signers", ", ".join(s["signers"]) or "none"), ("Stages now", stages)]


def _markdown(audit: Audit) -> str:
    out = ["# Checkpoint audit", "", "## Summary", "", "| | |", "|---|---|"]
    out += [f"| {k} | {_md(v)} |" for k, v in _summary_rows(audit)]
    if audit.failures:
        out += ["", "### Failures", ""]
        out += [f"- {e.when} {e.action} {e.name}: {_md('; '.join(e.problems) or e.status)}"
                for e in audit.failures]
    out += ["", "## Chain of custody", "", "| when (UTC) | action | name | who | status | what |",
            "|---|---|---|---|---|---|"]
    out += [f"| {e.when} | {e.action} | {e.name} | {_md(e.who)} | {e.status} | {_md(_what(e))} |"
            for e in audit.events]
    return "\n".join(out) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _html(audit: Audit) -> str:
    esc = html.escape
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in _summary_rows(audit))
    fails = "".join(f"<li>{esc(e.when)} {esc(e.action)} {esc(e.name)}: "
                    f"{esc('; '.join(e.problems) or e.status)}</li>" for e in audit.failures)
    events = "".join(
        f"<tr class='{esc(e.status)}'><td>{esc(e.when)}</td><td>{esc(e.action)}</td>"
        f"<td>{esc(e.name)}</td><td>{esc(e.who)}</td><td>{esc(e.status)}</td>"
        f"<td>{esc(_what(e))}{''.join('<br>! ' + esc(p) for p in e.problems)}</td></tr>"
        for e in audit.events)
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Checkpoint audit</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}"
        ".failed td{background:#fdd}.summary{page-break-after:always}</style></head><body>"
        f"<section class='summary'><h1>Checkpoint audit</h1><table>{rows}</table>"
        + (f"<h2>Failures</h2><ul>{fails}</ul>" if fails else "") +
        "</section><h2>Chain of custody</h2><table><tr><th>when (UTC)</th><th>action</th>"
        f"<th>name</th><th>who</th><th>status</th><th>what</th></tr>{events}</table>"
        "</body></html>\n")
