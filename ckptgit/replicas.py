"""Where checkpoint bytes are kept: the default DVC remote and its mirrors.

Remotes themselves are DVC's (``.dvc/config``, DVC's own format: plain ``dvc push -r NAME``
works on each). Which of them are mirrors of the default is shared with the team in
``.ckpt/remotes.yaml`` (``mirrors: [NAME, ...]``). Writes go to every replica at once; reads
take the first replica that answers, in order (default first), and the caller checks the seal,
so a replica serving wrong bytes is caught like a corrupt cache.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ckptgit import names, sidecar, storage, workfiles
from ckptgit.errors import CkptError, ExternalError, MissingDataError, UsageError

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
    workfiles.write_atomic(root / MIRRORS_PATH, text.encode())


def replicas(root: Path) -> list[storage.Remote]:
    """The default remote, then each mirror that DVC's config defines."""
    found = storage.remotes(root)
    by_name = {r.name: r for r in found}
    default = [r for r in found if r.default]
    extra = [by_name[n] for n in mirrors(root) if n in by_name and not by_name[n].default]
    return default + extra


@dataclass(frozen=True)
class Outcome:
    """One replica's part of a transfer: the objects that failed, or why it failed whole."""

    remote: str
    failed: tuple[str, ...] = ()
    error: str | None = None

    @property
    def ok(self) -> bool:
        return not self.failed and self.error is None


def push(root: Path, oids: Sequence[str], jobs: int | None = None) -> list[Outcome]:
    """Send cached objects to every replica at once. Raises when any replica lacks them after."""
    targets = replicas(root)
    if not targets:
        raise ExternalError("no DVC remote configured: run 'git ckpt remote add URL'")
    with ThreadPoolExecutor(len(targets), thread_name_prefix="ckpt-replica") as pool:
        outcomes = list(pool.map(lambda r: _send(root, r.name, oids, jobs), targets))
    bad = [o for o in outcomes if not o.ok]
    if bad:
        raise ExternalError("dvc push failed on " + "; ".join(
            f"{o.remote}: {o.error or f'{len(o.failed)} object(s) not written'}" for o in bad))
    return outcomes


def _send(root: Path, name: str, oids: Sequence[str], jobs: int | None) -> Outcome:
    try:
        return Outcome(name, tuple(storage.send(root, storage.remote_odb(root, name), oids,
                                                jobs)))
    # a backend fails with its own exceptions (botocore, OSError, …): one line per replica
    except Exception as exc:  # noqa: BLE001
        return Outcome(name, error=_line(exc))


def fetch(root: Path, oids: Sequence[str], complete: Callable[[], bool],
          jobs: int | None = None) -> str:
    """Bring objects into the cache from the first replica that has them all; its name.

    ``complete`` says whether the cache now holds everything needed (a ``.dir`` names its
    files only once fetched).
    """
    tried: list[str] = []
    for remote in replicas(root):
        try:
            storage.receive(root, storage.remote_odb(root, remote.name), oids, jobs)
        except Exception as exc:  # noqa: BLE001 - a dead replica: try the next one
            tried.append(f"{remote.name}: {_line(exc)}")
            continue
        if complete():
            return remote.name
        tried.append(f"{remote.name}: objects missing")
    raise MissingDataError("no DVC remote has them (" + ("; ".join(tried) or "none configured")
                           + "); push them from the machine that saved it: 'dvc push'")


def ensure_cached(root: Path, pointer: storage.Pointer, what: str,
                  jobs: int | None = None) -> str | None:
    """The pointer's objects in the cache, from the first replica that has them; its name
    (None when the cache already had them)."""
    if not storage.missing_objects(root, pointer):
        return None
    try:
        return fetch(root, [pointer.md5], lambda: not storage.missing_objects(root, pointer),
                     jobs)
    except MissingDataError as exc:
        raise MissingDataError(f"bytes of {what} are not in the cache and {exc}") from exc


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


def _line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def default_jobs() -> int:
    """Transfers wait on the network, not the CPU: a few per core."""
    return 4 * (os.cpu_count() or 1)


def sync(root: Path, oids: Sequence[str], *, push: bool,
         jobs: int | None = None) -> dict[str, set[str]]:
    """What each replica lacks of ``oids``; with ``push``, after sending it what it lacked
    (every replica at once). A replica that does not answer lacks everything."""
    if not replicas(root):
        raise ExternalError("no DVC remote configured: run 'git ckpt remote add URL'")
    jobs = jobs or default_jobs()
    wanted = set(oids)
    lacking = {name: wanted - held for name, held in holdings(root, oids, jobs).items()}
    todo = {name: sorted(objs) for name, objs in lacking.items() if objs}
    if not push or not todo:
        return lacking
    with ThreadPoolExecutor(len(todo), thread_name_prefix="ckpt-replica") as pool:
        list(pool.map(lambda item: _send(root, item[0], item[1], jobs), todo.items()))
    again = holdings(root, sorted({o for objs in todo.values() for o in objs}), jobs)
    return {name: (set(todo.get(name, [])) - again.get(name, set())) for name in lacking}
