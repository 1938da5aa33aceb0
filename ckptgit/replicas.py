"""Where checkpoint bytes are kept: the default DVC remote and its mirrors.

Remotes themselves are DVC's (``.dvc/config``, DVC's own format: plain ``dvc push -r NAME``
works on each). Which of them are mirrors of the default is shared with the team in
``.ckpt/remotes.yaml`` (``mirrors: [NAME, ...]``). Writes go to every replica through
``storage.push_objects`` (what each lacks of the objects the push set names); reads take the
first replica that has the bytes, in order (default first), each object verified before it
enters the cache and never deleted from a replica (``storage.ensure_cached``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ckptgit import names, sidecar, storage
from ckptgit.atomic import write_atomic
from ckptgit.errors import (
    CkptError,
    ExternalError,
    IntegrityError,
    MissingDataError,
    UsageError,
)

MIRRORS_PATH = ".ckpt/remotes.yaml"


def mirrors(root: Path) -> list[str]:
    """The mirror names listed in ``.ckpt/remotes.yaml`` (the work-tree copy)."""
    path = root / MIRRORS_PATH
    if not path.exists():
        return []
    doc = sidecar.parse_yaml(path.read_bytes(), MIRRORS_PATH) if path.stat().st_size else {}
    listed = doc.get("mirrors") or [] if isinstance(doc, dict) else None
    if not isinstance(listed, list) or not all(isinstance(n, str) for n in listed):
        raise UsageError(f"{MIRRORS_PATH}: mirrors must be a list of DVC remote names")
    return list(dict.fromkeys(listed))


def write_mirrors(root: Path, listed: Sequence[str]) -> None:
    for name in listed:
        names.check_text(name, "remote name")
    body = "".join(f"  - {n}\n" for n in listed)
    text = ("# DVC remotes (in .dvc/config) that hold a copy of every checkpoint's bytes;\n"
            "# managed by 'git ckpt remote add --mirror' / 'git ckpt remote remove'.\n"
            + (f"mirrors:\n{body}" if listed else "mirrors: []\n"))
    write_atomic(root / MIRRORS_PATH, text.encode())


def replicas(root: Path) -> list[storage.Remote]:
    """The default remote, then each mirror that DVC's config defines."""
    found = storage.remotes(root)
    by_name = {r.name: r for r in found}
    default = [r for r in found if r.default]
    extra = [by_name[n] for n in mirrors(root) if n in by_name and not by_name[n].default]
    return default + extra


def targets(root: Path) -> list[str | None]:
    """The replica names to write to or read from, default first; ``[None]`` (DVC's default
    remote, whatever DVC says it is) when no named remote is configured."""
    return [r.name for r in replicas(root)] or [None]


def push(root: Path, oids: Sequence[str], jobs: int | None = None) -> list[str]:
    """Send cached objects each replica lacks to it, by id (``storage.push_objects``, the one
    write path), every replica at once and ``jobs`` transfers each (default: 4 per core); the
    ids the local cache lacks, which reached no replica."""
    where = targets(root)
    per = jobs or default_jobs()
    for name in where:  # imports on this thread, never on the workers
        storage.preload_remote(root, name)

    def one(name: str | None) -> list[str]:
        try:
            return storage.push_objects(root, storage.missing_on_remote(root, oids, name, per),
                                        name, per, lacking=True)
        except CkptError as exc:  # which replica failed, when there are several
            if name is None or len(where) == 1:
                raise
            raise ExternalError(f"DVC remote {name!r}: {exc}") from exc

    if len(where) == 1:
        return sorted(set(one(where[0])))
    with ThreadPoolExecutor(len(where), thread_name_prefix="ckpt-replica") as pool:
        return sorted({oid for lacking in pool.map(one, where) for oid in lacking})


def ensure_cached(root: Path, pointer: storage.Pointer, what: str, *, dvcfile: str = "",
                  rev: str = "", jobs: int | None = None) -> dict[str, storage.Fetched]:
    """The pointer's objects in the cache from the first replica that has them; what was
    downloaded (``storage.Fetched`` by object id: the seal's digests of the bytes as written).

    Every object is verified before it enters the cache and nothing is ever deleted from a
    replica (``storage.ensure_cached``); a replica serving corrupt bytes is passed over for
    the next, and its corruption is reported when no replica can serve good ones.
    """
    if not storage.missing_objects(root, pointer):
        return {}
    corrupt: IntegrityError | None = None
    missing: list[tuple[str | None, MissingDataError]] = []
    for name in targets(root):
        try:
            return storage.ensure_cached(root, pointer, dvcfile or pointer.path, rev or "-",
                                         what, remote_name=name, jobs=jobs or default_jobs())
        except MissingDataError as exc:  # first: it is an IntegrityError too
            missing.append((name, exc))
        except IntegrityError as exc:
            corrupt = corrupt or exc
    if corrupt is not None:
        raise corrupt
    if len(missing) == 1:
        raise missing[0][1]
    raise MissingDataError(
        f"bytes of {what} are in neither the cache nor any DVC remote ("
        + "; ".join(_why(name, exc) for name, exc in missing)
        + "); push them from the machine that saved it: 'dvc push'")


def _why(name: str | None, exc: MissingDataError) -> str:
    text = str(exc)
    return f"{name}: objects missing" if text.startswith("bytes of ") else f"{name}: {text}"


def holdings(root: Path, oids: Sequence[str], jobs: int | None = None) -> dict[str, set[str]]:
    """For each replica, which of ``oids`` it holds (a replica that does not answer: none)."""
    def ask(remote: storage.Remote) -> tuple[str, set[str]]:
        try:
            return remote.name, storage.remote_has(storage.remote_odb(root, remote.name), oids,
                                                   jobs)
        except (CkptError, OSError):
            return remote.name, set()
        except Exception:  # noqa: BLE001 - a backend's own error: it holds nothing we can see
            return remote.name, set()

    targets = replicas(root)
    if not targets:
        return {}
    with ThreadPoolExecutor(len(targets), thread_name_prefix="ckpt-replica") as pool:
        return dict(pool.map(ask, targets))


def default_jobs() -> int:
    """Transfers wait on the network, not the CPU: a few per core."""
    return 4 * (os.cpu_count() or 1)
