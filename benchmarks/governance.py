"""Governance figures: ``stages``/``history`` against GTO, the pre-commit and pre-push hooks.

Targets (DESIGN.md, issues 4 and 11): ``stages``/``history`` ≤ 0.2 s at 1,000 tags and ≤ 1 s
at 10,000 (gto 1.10: 2.1–5.5 s at 1,000, minutes at 10,000 — capped here by a timeout);
``pre-commit`` on a commit without checkpoint files ≤ 100 ms (an empty hook script is the
baseline); ``pre-push`` verifying 100 new signed tags ≤ 1.5 s. Issue 17: ``promote --request``
verifying 5 signed approvals adds ≤ 0.3 s to a direct promotion of the same checkpoint (same
gates), and ``review`` of a request for a 1,000-tensor checkpoint against a 1,000-tensor holder
takes ≤ 1 s.

Every tag is one the verifier ACCEPTS: SSH-signed by a trusted key, on a genuine save commit,
with its trailers. The scale runs write them in one ``git fast-import``, each signed here with
the key's Ed25519 half (an SSHSIG exactly as ``ssh-keygen -Y sign -n git`` makes it; one
``git verify-tag`` checks a sample), since ``ssh-keygen`` per tag would take minutes. "cold" is
the first read after the tags arrive (every signature checked), "warm" the median of the next
runs (verdicts cached per tag object); the pre-push run signs real tags with ``git tag -s``.

    python benchmarks/governance.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path
from typing import Any

import common

STAGES = ("dev", "staging", "production")
ARTIFACTS = 10
GTO_CAP = 60.0


def _key(sb: common.Sandbox) -> tuple[Path, str]:
    key = sb.base / "alice"
    if not key.exists():
        sb.sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "alice", "-f", str(key)])
    return key, Path(f"{key}.pub").read_text().strip()


def _trust(sb: common.Sandbox, repo: Path, pub: str, push: str = "auto") -> None:
    """Signers and stages committed on main: the trusted revision the verifier reads."""
    ckpt = repo / ".ckpt"
    ckpt.mkdir(exist_ok=True)
    (ckpt / "allowed_signers").write_text(f'alice@example.com namespaces="git" {pub}\n')
    (ckpt / "config.yaml").write_text(f"push: {push}\nadmins: [alice@example.com]\nstages: "
                                      f"[{', '.join(STAGES)}]\n")
    sb.git(repo, "add", ".ckpt")
    sb.git(repo, "commit", "-q", "-m", "trust")


def _saves(sb: common.Sandbox, repo: Path, count: int) -> list[tuple[str, str, str, str]]:
    """``count`` save commits as ``git ckpt save`` makes them: (name, commit, id, seal)."""
    out = []
    for i in range(count):
        name, ckpt_id, seal = f"model{i}", f"{i + 1:016x}", f"{i + 1:064x}"
        models = repo / "models"
        models.mkdir(exist_ok=True)
        (models / f"m{i}.bin.dvc").write_text(
            f"outs:\n- md5: '{i + 1:032x}'\n  size: 1\n  path: m{i}.bin\n")
        (models / f"m{i}.bin.ckpt.yaml").write_text(
            f"schema_version: 1\nid: '{ckpt_id}'\nname: {name}\n"
            "created_at: '2024-01-01T00:00:00Z'\n"
            f"artifact: {{path: models/m{i}.bin, md5: '{i + 1:032x}', sha256: '{seal}', "
            "size: 1}\n")
        sb.git(repo, "add", "models")
        sb.git(repo, "commit", "-q", "-m", f"save {name}\n\nCkpt-Id: {ckpt_id}\n"
               f"Ckpt-Name: {name}\n")
        out.append((name, sb.git(repo, "rev-parse", "HEAD").strip(), ckpt_id, seal))
    return out


def _sshsig(key: Any, payload: bytes) -> bytes:
    """An armored SSHSIG over ``payload`` (PROTOCOL.sshsig, namespace git, sha512)."""
    import base64
    import hashlib
    import struct

    from cryptography.hazmat.primitives import serialization

    def string(b: bytes) -> bytes:
        return struct.pack(">I", len(b)) + b

    raw_pub = key.public_key().public_bytes(serialization.Encoding.Raw,
                                            serialization.PublicFormat.Raw)
    signed = b"SSHSIG" + string(b"git") + string(b"") + string(b"sha512") + string(
        hashlib.sha512(payload).digest())
    blob = (b"SSHSIG" + struct.pack(">I", 1) + string(string(b"ssh-ed25519") + string(raw_pub))
            + string(b"git") + string(b"") + string(b"sha512")
            + string(string(b"ssh-ed25519") + string(key.sign(signed))))
    text = base64.b64encode(blob).decode()
    lines = [text[i:i + 70] for i in range(0, len(text), 70)]
    return ("-----BEGIN SSH SIGNATURE-----\n" + "\n".join(lines)
            + "\n-----END SSH SIGNATURE-----\n").encode()


def _fast_import_tags(sb: common.Sandbox, repo: Path, count: int, keyfile: Path) -> None:
    from cryptography.hazmat.primitives.serialization import load_ssh_private_key

    key = load_ssh_private_key(keyfile.read_bytes(), None)
    saves = _saves(sb, repo, ARTIFACTS)
    chunks, when = [], 1_700_000_000
    for i in range(count):
        name, commit, ckpt_id, seal = saves[i % ARTIFACTS]
        number = i // ARTIFACTS + 1
        stage = STAGES[number % len(STAGES)]
        tag = f"{name}#{stage}#{number}"
        tagger = f"Ada <ada@example.com> {when + i} +0000"
        msg = (f"promote {name} to {stage}\n\nCkpt-Action: promote\nCkpt-Id: {ckpt_id}\n"
               f"Ckpt-Name: {name}\nCkpt-Stage: {stage}\nCkpt-Seal: sha256:{seal}\n"
               f"Rationale: benchmark {i}\nSigned-By: alice@example.com\n").encode()
        payload = f"object {commit}\ntype commit\ntag {tag}\ntagger {tagger}\n\n".encode() + msg
        data = msg + _sshsig(key, payload)
        chunks.append(f"tag {tag}\nfrom {commit}\ntagger {tagger}\n"
                      f"data {len(data)}\n".encode() + data + b"\n")
    sb.sh(["git", "fast-import", "--quiet"], repo, input=b"".join(chunks))
    sample = f"{saves[0][0]}#{STAGES[1]}#1"
    sb.sh(["git", "-c", f"gpg.ssh.allowedSignersFile={repo / '.ckpt/allowed_signers'}",
           "verify-tag", sample], repo)  # plain git accepts what we signed


def _registry(sb: common.Sandbox, count: int) -> Path:
    repo = sb.git_repo(f"tags{count}")
    (repo / ".dvc").mkdir()
    (repo / "dvc.yaml").write_text("artifacts:\n" + "".join(
        f"  model{i}:\n    path: models/m{i}.bin\n    type: model\n" for i in range(ARTIFACTS)))
    sb.git(repo, "add", "dvc.yaml")
    sb.git(repo, "commit", "-q", "-m", "artifacts")
    keyfile, pub = _key(sb)
    _trust(sb, repo, pub)
    _fast_import_tags(sb, repo, count, keyfile)
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
    cold = common.timed(lambda: sb.sh(["git", "ckpt", "stages", "--json"], repo))
    held = json.loads(sb.sh(["git", "ckpt", "stages", "--json"], repo).stdout)
    if len(held["holders"]) != ARTIFACTS * len(STAGES) or held["unverified"]:
        raise RuntimeError(f"the verifier refused benchmark tags: {held['unverified'][:3]}")
    rows.append(common.row(f"stages at {count:,} tags, cold (every signature checked)", cold,
                           None, n=count))
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
    repo = sb.git_repo("signed")
    key, pub = _key(sb)
    _trust(sb, repo, pub, push="never")
    for k, v in (("gpg.format", "ssh"), ("user.signingkey", str(key))):
        sb.git(repo, "config", k, v)
    name, commit, ckpt_id, seal = _saves(sb, repo, 1)[0]
    lines = []
    for i in range(count):
        tag = f"{name}#dev#{i + 1}"
        msg = (f"promote\n\nCkpt-Action: promote\nCkpt-Id: {ckpt_id}\nCkpt-Name: {name}\n"
               f"Ckpt-Stage: dev\nCkpt-Seal: sha256:{seal}\nRationale: bench {i}\n"
               "Signed-By: alice@example.com\n")
        sb.sh(["git", "tag", "-s", "-F", "-", tag, commit], repo, input=msg.encode())
        sha = sb.git(repo, "rev-parse", f"refs/tags/{tag}").strip()
        lines.append(f"refs/tags/{tag} {sha} refs/tags/{tag} {'0' * 40}\n")
    stdin = "".join(lines).encode()
    ours = common.timed(lambda: sb.sh(["git", "ckpt", "hook", "pre-push", "origin", "x"], repo,
                                      input=stdin))
    return common.row(f"pre-push verifying {count} signed tags", ours, None, max_seconds=1.5)


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
    keys = sb.base / "team-keys"  # apart from the keys the other figures of this module made
    keys.mkdir(exist_ok=True)
    for who in ("alice", *APPROVERS):
        key = keys / who
        sb.sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", who, "-f", str(key)])
        lines.append(f'{who}@example.com namespaces="git,ckpt-approval" '
                     f"{Path(f'{key}.pub').read_text().strip()}\n")
    (repo / ".ckpt" / "allowed_signers").write_text("".join(lines))
    (repo / ".ckpt" / "config.yaml").write_text(REQUEST_CONFIG)
    sb.git(repo, "add", ".ckpt")
    sb.git(repo, "commit", "-q", "-m", "rules")
    for k, v in (("gpg.format", "ssh"), ("user.signingkey", str(keys / "alice"))):
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
        sb.sh(["git", "ckpt", "approve", "--key", str(sb.base / "team-keys" / who)], repo)
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
