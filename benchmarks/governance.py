"""Governance figures: ``stages``/``history`` against GTO, the pre-commit and pre-push hooks.

Targets (DESIGN.md, issue 4): ``stages``/``history`` ≤ 0.2 s at 1,000 tags and ≤ 1 s at
10,000 (gto 1.10: 2.1–5.5 s at 1,000, minutes at 10,000 — capped here by a timeout);
``pre-commit`` on a commit without checkpoint files ≤ 100 ms (an empty hook script is the
baseline); ``pre-push`` verifying 100 new signed tags ≤ 3 s. Issue 17: ``promote --request``
verifying 5 signed approvals adds ≤ 0.3 s to a direct promotion of the same checkpoint (same
gates), and ``review`` of a request for a 1,000-tensor checkpoint against a 1,000-tensor holder
takes ≤ 1 s.

Tags for the scale runs are written in one ``git fast-import`` (annotated, with our trailers,
unsigned: reading them costs the same); the pre-push run signs real tags with ``ssh-keygen``.

    python benchmarks/governance.py [--quick]
"""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path
from typing import Any

import common

STAGES = ("dev", "staging", "production")
ARTIFACTS = 10
GTO_CAP = 60.0


def _fast_import_tags(sb: common.Sandbox, repo: Path, count: int) -> None:
    head = sb.git(repo, "rev-parse", "HEAD").strip()
    chunks, when = [], 1_700_000_000
    for i in range(count):
        name, number = f"model{i % ARTIFACTS}", i // ARTIFACTS + 1
        stage = STAGES[number % len(STAGES)]
        msg = (f"promote {name} to {stage}\n\nCkpt-Action: promote\nCkpt-Id: {i:016x}\n"
               f"Ckpt-Stage: {stage}\nRationale: benchmark {i}\nApproved-By: bob@example.com\n"
               "Signed-By: alice@example.com\n").encode()
        chunks.append(f"tag {name}#{stage}#{number}\nfrom {head}\n"
                      f"tagger Ada <ada@example.com> {when + i} +0000\n"
                      f"data {len(msg)}\n".encode() + msg + b"\n")
    sb.sh(["git", "fast-import", "--quiet"], repo, input=b"".join(chunks))


def _registry(sb: common.Sandbox, count: int) -> Path:
    repo = sb.git_repo(f"tags{count}")
    (repo / ".dvc").mkdir()
    (repo / "dvc.yaml").write_text("artifacts:\n" + "".join(
        f"  model{i}:\n    path: models/m{i}.bin\n    type: model\n" for i in range(ARTIFACTS)))
    sb.git(repo, "add", "dvc.yaml")
    sb.git(repo, "commit", "-q", "-m", "artifacts")
    _fast_import_tags(sb, repo, count)
    return repo


def _gto(sb: common.Sandbox, repo: Path, verb: str) -> float | None:
    try:
        return common.timed(lambda: sb.sh([str(common.BIN / "gto"), verb, "--json"], repo,
                                          timeout=GTO_CAP))
    except subprocess.TimeoutExpired:
        return None


def _scale(sb: common.Sandbox, count: int, target: float | None,
           rounds: int) -> list[dict[str, Any]]:
    repo = _registry(sb, count)
    rows = []
    for verb in ("stages", "history"):
        sb.sh(["git", "ckpt", verb, "--json"], repo)  # warm the page cache
        ours = common.median(common.interleave(
            {"ours": lambda v=verb: sb.sh(["git", "ckpt", v, "--json"], repo)},
            rounds)["ours"])
        gto_verb = "show" if verb == "stages" else "history"
        base = _gto(sb, repo, gto_verb)
        note = "" if base is not None else f"gto {gto_verb} did not finish in {GTO_CAP:g} s"
        rows.append(common.row(f"{verb} at {count:,} tags", ours, base,
                               baseline_name=f"gto {gto_verb}", max_seconds=target,
                               note=note, curve=verb, n=count))
    return rows


def _pre_commit(sb: common.Sandbox, rounds: int) -> dict[str, Any]:
    repo = sb.ckpt_repo("hooked")
    empty = repo / ".git" / "hooks" / "empty-hook"
    empty.write_text("#!/bin/sh\nexit 0\n")
    empty.chmod(0o755)
    (repo / "train.py").write_text("print('changed')\n")
    sb.git(repo, "add", "train.py")
    hook = repo / ".git" / "hooks" / "pre-commit"
    times = common.interleave({"ours": lambda: sb.sh([str(hook)], repo),
                               "empty": lambda: sb.sh([str(empty)], repo)}, rounds)
    return common.row("pre-commit hook, no checkpoint files", common.median(times["ours"]),
                      common.median(times["empty"]), baseline_name="empty hook script",
                      max_seconds=0.1)


def _pre_push(sb: common.Sandbox, count: int) -> dict[str, Any]:
    repo = sb.ckpt_repo("signed")
    key = sb.base / "alice"
    sb.sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "alice", "-f", str(key)])
    pub = Path(f"{key}.pub").read_text().strip()
    (repo / ".ckpt" / "allowed_signers").write_text(
        f'alice@example.com namespaces="git" {pub}\n')
    cfg = repo / ".ckpt" / "config.yaml"
    cfg.write_text(cfg.read_text().replace("push: auto", "push: never"))
    for k, v in (("gpg.format", "ssh"), ("user.signingkey", str(key))):
        sb.git(repo, "config", k, v)
    head = sb.git(repo, "rev-parse", "HEAD").strip()
    lines = []
    for i in range(count):
        tag = f"clf#dev#{i + 1}"
        msg = (f"promote\n\nCkpt-Action: promote\nCkpt-Id: {i:016x}\nRationale: bench {i}\n"
               "Signed-By: alice@example.com\n")
        sb.sh(["git", "tag", "-s", "-F", "-", tag, head], repo, input=msg.encode())
        sha = sb.git(repo, "rev-parse", f"refs/tags/{tag}").strip()
        lines.append(f"refs/tags/{tag} {sha} refs/tags/{tag} {'0' * 40}\n")
    stdin = "".join(lines).encode()
    ours = common.timed(lambda: sb.sh(["git", "ckpt", "hook", "pre-push", "origin", "x"], repo,
                                      input=stdin))
    return common.row(f"pre-push verifying {count} signed tags", ours, None, max_seconds=3.0)


APPROVERS = ("a1", "a2", "a3", "a4", "a5")
REQUEST_CONFIG = """version: 1
push: never
stages:
  - direct: {gates: [{metric: "metrics.acc >= 0.5"}]}
  - production: {approvals: 5, gates: [{metric: "metrics.acc >= 0.5"}]}
"""


def _team_repo(sb: common.Sandbox, count: int) -> Path:
    """A repository with 6 listed keys, and two saved checkpoints of ``count`` tensors."""
    import numpy as np
    from safetensors.numpy import save_file

    repo = sb.ckpt_repo("requests")
    lines = []
    for who in ("alice", *APPROVERS):
        key = sb.base / who
        sb.sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", who, "-f", str(key)])
        lines.append(f'{who}@example.com namespaces="git,ckpt-approval" '
                     f"{Path(f'{key}.pub').read_text().strip()}\n")
    (repo / ".ckpt" / "allowed_signers").write_text("".join(lines))
    (repo / ".ckpt" / "config.yaml").write_text(REQUEST_CONFIG)
    sb.git(repo, "add", ".ckpt")
    sb.git(repo, "commit", "-q", "-m", "rules")
    for k, v in (("gpg.format", "ssh"), ("user.signingkey", str(sb.base / "alice"))):
        sb.git(repo, "config", k, v)
    rng = np.random.default_rng(0)
    for version, acc in ((1, "0.8"), (2, "0.85")):
        tensors = {f"model.layers.{i // 10}.block{i % 10}.weight":
                   rng.standard_normal(16).astype(np.float32) for i in range(count)}
        save_file(tensors, str(repo / "model.safetensors"), metadata={"format": "pt"})
        sb.sh(["git", "ckpt", "save", "model.safetensors", "--name", "m", "--quiet",
               "--metric", f"acc={acc}", "--param", f"v={version}"], repo)
    return repo


def _merged_request(sb: common.Sandbox, repo: Path, ref: str) -> str:
    import json

    out = json.loads(sb.sh(["git", "ckpt", "propose", ref, "--stage", "production",
                            "--rationale", "bench", "--json"], repo).stdout)
    sb.git(repo, "checkout", "-q", out["branch"])
    for who in APPROVERS:
        sb.sh(["git", "ckpt", "approve", "--key", str(sb.base / who)], repo)
    sb.git(repo, "checkout", "-q", "main")
    sb.git(repo, "merge", "-q", "--no-ff", "-m", "merge", out["branch"])
    return str(out["request"])


def _cpu(fn: Any) -> tuple[float, float]:
    """Wall and CPU seconds (user + system of the child processes) of one run: on a shared,
    loaded machine the CPU figure is the one that does not depend on the neighbours."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = common.timed(fn)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _requests(sb: common.Sandbox, count: int) -> list[dict[str, Any]]:
    repo = _team_repo(sb, count)
    direct, direct_cpu = _cpu(lambda: sb.sh(["git", "ckpt", "promote", "m~1", "--stage",
                                             "direct", "--rationale", "bench"], repo))
    first = _merged_request(sb, repo, "m~1")
    requested, requested_cpu = _cpu(lambda: sb.sh(["git", "ckpt", "promote", "--request",
                                                   first], repo))
    second = _merged_request(sb, repo, "m")
    cmd = ["git", "ckpt", "review", second, "--format", "markdown"]
    sb.sh(cmd, repo)  # warm
    runs = sorted((_cpu(lambda: sb.sh(cmd, repo)) for _ in range(3)), key=lambda r: r[0])
    review, review_cpu = runs[1]
    return [common.row("promote --request: 5 signed approvals, time added", requested - direct,
                       None, max_seconds=0.3,
                       note=f"promote --request {requested:.2f} s ({requested_cpu:.2f} s CPU), "
                            f"direct {direct:.2f} s ({direct_cpu:.2f} s CPU)"),
            common.row(f"review of a request, {count:,}-tensor pair", review, None,
                       max_seconds=1.0, note=f"{review_cpu:.2f} s CPU")]


def run(quick: bool) -> list[dict[str, Any]]:
    rows = []
    with common.sandbox("governance") as sb:
        if not quick:
            rows += _scale(sb, 100, None, 5)  # the small end of the scale curve
        rows += _scale(sb, 1_000, 0.2, 3 if quick else 5)
        if not quick:
            rows += _scale(sb, 10_000, 1.0, 3)
        rows.append(_pre_commit(sb, 5 if quick else 15))
        rows.append(_pre_push(sb, 100))
        rows += _requests(sb, 1_000)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 tags only, fewer rounds")
    args = parser.parse_args()
    print(common.format_table(run(args.quick)))


if __name__ == "__main__":
    main()
