"""``git ckpt report`` at 1,000 checkpoints (10 names) and 200 signed stage events.

Target (issue 16): ≤ 5 s for the whole site (summary, ten name pages, 1,000 model cards,
verify's record pass, check, one diff per name), every page ≤ 5 MB. The history is the
synthetic one of ``_synth.py``; the 200 promotion tags are real SSH-signed tags made with
``git tag -s`` (by a key listed in .ckpt/allowed_signers) on the save commits they name, so
the verifier's fast path (one ``verify-tag`` for the lot) is what is timed. The baseline is
``verify --all --offline`` on the same repository: the report includes its record pass and
tag check, so the ratio says what the pages and cards add (and holds on a busy machine).
The timed report rewrites the site of a first, untimed run (as CI regenerating it does: only
changed cards are rewritten, records and tag verdicts come from the caches under .git/ckpt/);
a cold row times a first report (caches removed, a new directory) the same way.

    python benchmarks/report.py [--quick]
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import _synth
import common

STAGES = ("dev", "staging", "production")


def run(quick: bool) -> list[dict[str, Any]]:
    n, events, rounds = (300, 60, 2) if quick else (1000, 200, 3)
    with common.sandbox("report") as box:
        template = _synth.template(box)
        repo = box.ckpt_repo(f"report-{n}")
        _synth.synthesize(box, repo, template, n)
        _govern(box, repo)
        _sign_tags(box, repo, events)
        out = box.base / "site"
        first = json.loads(box.sh(["git", "ckpt", "report", "-o", str(out), "--json"],
                                  repo).stdout)
        biggest = max(Path(p).stat().st_size for p in first["pages"])
        cards = len(list((out / "cards").iterdir()))
        fresh = box.base / "site-fresh"
        times = common.interleave(
            {"report": lambda: box.sh(["git", "ckpt", "report", "-o", str(out)], repo),
             "cold": lambda: box.sh(["git", "ckpt", "report", "-o", str(fresh)], repo),
             # exits 3: the synthetic production tags carry no signed approvals, which
             # production requires; the verdicts are the work timed, not the exit code
             "verify": lambda: box.sh(["git", "ckpt", "verify", "--all", "--offline",
                                       "--allow-missing", "-q"], repo, check=False)}, rounds,
            before=lambda case, _: _cold(repo, fresh) if case == "cold" else None)
    med = {k: common.median(v) for k, v in times.items()}
    load = os.getloadavg()[0]
    note = (f"{len(first['pages'])} pages (largest {biggest / 2**20:.2f} MiB, plotly.min.js "
            f"{(out / 'plotly.min.js').stat().st_size / 2**20:.1f} MiB shared), {cards} cards"
            if out.exists() else f"{len(first['pages'])} pages, largest {biggest:,} bytes, "
            f"{cards} cards")
    return [common.row(f"report {n:,} checkpoints, {events} signed stage events", med["report"],
                       med["verify"], baseline_name="verify --all --offline",
                       max_seconds=5.0,
                       note=f"{note}; load {load:.1f}",
                       samples={k: [round(x, 3) for x in v] for k, v in times.items()}),
            common.row(f"report {n:,} checkpoints, cold (no parse or verdict cache, new "
                       "directory)", med["cold"], med["verify"],
                       baseline_name="verify --all --offline (warm)", max_seconds=5.0,
                       note="every sidecar parsed and every tag judged again, every page and "
                            f"card written anew; load {load:.1f}"),
            {"work": "report: largest page", "ours_s": None, "baseline_s": None,
             "baseline": "", "ratio": None, "target": "≤ 5 MiB", "passed": biggest <= 5 << 20,
             "note": f"{biggest:,} bytes"}]


def _cold(repo: Path, out: Path) -> None:
    """A first report: no parsed records or tag verdicts cached, no pages or cards there."""
    shutil.rmtree(out, ignore_errors=True)
    for name in ("verified-records-v1.json", "verdicts-v1.json"):
        (repo / ".git" / "ckpt" / name).unlink(missing_ok=True)


def _govern(box: common.Sandbox, repo: Path) -> None:
    keys = box.base / "keys"
    keys.mkdir(exist_ok=True)
    box.sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "alice", "-f",
            str(keys / "alice")])
    pub = (keys / "alice.pub").read_text().strip()
    (repo / ".ckpt" / "allowed_signers").write_text(
        f'alice@example.com namespaces="git" {pub}\n')
    box.git(repo, "add", ".ckpt")
    box.git(repo, "commit", "-q", "-m", "signers")
    for key, value in (("gpg.format", "ssh"), ("user.signingkey", str(keys / "alice")),
                       ("user.email", "alice@example.com")):
        box.git(repo, "config", key, value)


def _sign_tags(box: common.Sandbox, repo: Path, count: int) -> None:
    """``count`` signed promotions spread over the names, each on the save it names."""
    log = box.git(repo, "log", "--format=%H%x1f%(trailers:key=Ckpt-Id,valueonly)%x1f"
                  "%(trailers:key=Ckpt-Name,valueonly)%x1e", "--grep=^Ckpt-Id: ", "HEAD")
    saves = []
    for rec in log.split("\x1e"):
        parts = [p.strip() for p in rec.split("\x1f")]
        if len(parts) == 3:
            saves.append((parts[0], parts[1], parts[2]))
    saves.reverse()
    counters: dict[str, int] = {}
    env = dict(os.environ, **box.env)
    for i in range(count):
        commit, ckpt_id, name = saves[(i * len(saves)) // count]
        counters[name] = counters.get(name, 0) + 1
        stage = STAGES[i % len(STAGES)]
        msg = (f"promote {name} to {stage}\n\nCkpt-Action: promote\nCkpt-Id: {ckpt_id}\n"
               f"Ckpt-Stage: {stage}\nRationale: benchmark promotion {i}\n"
               + ("Approved-By: bob@example.com\n" if stage == "production" else "")
               + "Signed-By: alice@example.com\n")
        env["GIT_COMMITTER_DATE"] = f"{1_767_225_600 + 3600 * i} +0000"
        subprocess.run(["git", "tag", "-s", "-F", "-", f"{name}#{stage}#{counters[name]}",
                        commit], cwd=repo, input=msg.encode(), env=env, check=True,
                       capture_output=True)


if __name__ == "__main__":
    common.main(run)
