from __future__ import annotations

from typing import Any

import click

from ckptgit.commands._common import emit_json

MARKER = "<!-- git-ckpt-review -->"  # CI finds and updates its one comment by this line


@click.command("review")
@click.argument("request", required=False)
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]),
              default="text", show_default=True, help="Output format.")
@click.option("--rev", default="HEAD", show_default=True,
              help="Commit to read the request from (the PR's branch or merge commit).")
@click.option("--run-gates", is_flag=True,
              help="Also run command gates (they read the checkpoint's bytes).")
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
def command(request: str | None, fmt: str, rev: str, run_gates: bool, as_json: bool) -> int:
    """What a reviewer needs to judge REQUEST, on one page.

    The diff against the stage's holder (params, metrics better/worse, data, code, tensors),
    check findings, the gates run again with the protected branch's rules, the approvals so
    far (every signature verified) and what is still required. Exit 1 when a gate fails.
    Without REQUEST: the one request HEAD adds over the protected branch.

    \b
    Examples:
      git ckpt review
      git ckpt review 3f9a0c1d2e4b --format markdown > comment.md
    """
    from ckptgit.ops.review import review
    from ckptgit.repo import Repo

    out = review(Repo.open("."), request, rev, run_gates)
    if as_json or fmt == "json":
        emit_json(out.to_dict())
    elif fmt == "markdown":
        click.echo(markdown(out), nl=False)
    else:
        click.echo(text(out), nl=False)
    return 1 if out.gates_failed else 0


def _summary(out: Any) -> list[tuple[str, str]]:
    req, v = out.request, out.verdict
    cand = req.candidate
    holder = req.holder or {}
    return [("request", f"{req.id} (sha256 {req.sha256[:16]}…)"),
            ("action", f"{req.action} {req.name} in {req.stage}"),
            ("candidate", f"{cand.id[:8]} at {cand.commit[:12]}" if cand else "-"),
            ("holder now", f"{str(holder.get('id') or '')[:8]} ({holder.get('tag')})"
             if holder else "none"),
            ("proposer", f"{req.proposer}" + ("" if v.proposer else " (signature NOT verified)")),
            ("rationale", req.rationale),
            ("approvals", f"{len(v.approved_by)} of {v.required}"
             + (f": {', '.join(v.approved_by)}" if v.approved_by else "")
             + (f"; {v.missing} more required" if v.missing else "")),
            ("rejections", "; ".join(f"{w}: {c}" for w, c in v.rejected_by) or "none")]


def text(out: Any) -> str:
    lines = [f"{k:>11}: {v}" for k, v in _summary(out)]
    lines += _statements(out, "  ")
    if out.gates:
        lines.append("")
        lines += [f"gate {'passed' if g.passed else 'FAILED'}: {g.gate} ({g.detail})"
                  for g in out.gates]
    lines += ["", f"check: {len(out.findings)} finding(s)"]
    lines += [f"  {f.severity}: {f.rule}: {f.message}" for f in out.findings]
    if out.diff is not None:
        from ckptgit.compare import render

        lines += ["", render.headline(out.diff)]
        for b in render.blocks(out.diff):
            lines.append(f"  {b.title}: {b.summary}")
    for reason in out.verdict.reasons():
        lines.append(f"not yet: {reason}")
    return "\n".join(lines) + "\n"


def _statements(out: Any, indent: str) -> list[str]:
    return [f"{indent}{s.verdict} by {s.principal} at {s.to_dict()['signed_at']}: "
            + ("verified" if s.problem is None else f"NOT counted: {s.problem}")
            + (f" - {s.comment}" if s.comment else "")
            for s in out.verdict.statements]


def markdown(out: Any) -> str:
    v = out.verdict
    state = "✅ ready to promote" if v.ok and not out.gates_failed else (
        "❌ gates failed" if out.gates_failed else "⏳ waiting")
    lines = [MARKER, f"## Checkpoint promotion request `{out.request.id}`: {state}", "",
             "| | |", "|---|---|"]
    lines += [f"| {k} | {_cell(v_)} |" for k, v_ in _summary(out)]
    lines += ["", "### Signed statements", ""]
    lines += [f"- {line.strip()}" for line in _statements(out, "")] or ["- none yet"]
    lines += ["", "### Gates" + (" (metric gates only)" if out.gates_run == "metric" else ""),
              ""]
    lines += [f"- {'✅' if g.passed else '❌'} `{_cell(g.gate)}`: {_cell(g.detail)}"
              for g in out.gates] or ["- none for this stage"]
    lines += ["", f"### Check: {len(out.findings)} finding(s)", ""]
    lines += [f"- **{f.severity}** `{f.rule}`: {_cell(f.message)}" for f in out.findings]
    if out.diff is not None:
        from ckptgit.compare import render

        lines += ["", render.markdown(out.diff).rstrip()]
    if v.reasons():
        lines += ["", "### Still required", ""] + [f"- {_cell(r)}" for r in v.reasons()]
    lines += ["", f"Approve with `git ckpt approve {out.request.id}` on this branch "
              "(your own SSH key), then push."]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")
