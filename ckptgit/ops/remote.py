"""``git ckpt remote``: the DVC remotes checkpoint bytes go to (the default and its mirrors).

``add URL`` re-points the default remote (an existing repository moving its bytes), or with
``--mirror`` adds a replica that every push writes to as well. The remotes stay in DVC's own
``.dvc/config`` (so ``dvc push -r NAME`` works on each); the mirror list is shared in
``.ckpt/remotes.yaml``. Commit both to share them; credentials belong in DVC's
``config.local`` (``dvc remote modify --local NAME …``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ckptgit import replicas, storage
from ckptgit.errors import UsageError
from ckptgit.repo import Repo

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")


@dataclass(frozen=True)
class RemoteInfo:
    name: str
    url: str
    role: str  # default | mirror | other (a DVC remote checkpoints do not use)

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "url": self.url, "role": self.role}


def list_remotes(repo: Repo) -> list[RemoteInfo]:
    listed = set(replicas.mirrors(repo.root))
    return [RemoteInfo(r.name, r.url, "default" if r.default else
                       "mirror" if r.name in listed else "other")
            for r in storage.remotes(repo.root)]


def add(repo: Repo, url: str, *, mirror: bool = False, name: str | None = None) -> RemoteInfo:
    """Add a mirror, or (re-)point the default remote at ``url``."""
    if not url.strip() or any(c in url for c in "\r\n\t\x00"):
        raise UsageError("the remote URL must be one line, not empty")
    known = {r.name: r for r in storage.remotes(repo.root)}
    default = next((r for r in known.values() if r.default), None)
    if mirror:
        chosen = name or _free_name(known)
        if default is not None and chosen == default.name:
            raise UsageError(f"{chosen!r} is the default remote; a mirror needs its own name")
        if any(r.url == url for r in known.values() if r.name != chosen):
            raise UsageError(f"{url} is already a remote here; a mirror must be another store")
    else:
        chosen = name or (default.name if default else storage.DEFAULT_REMOTE)
    _check_name(chosen)
    storage.set_remote(repo.root, chosen, url, default=not mirror)
    listed = replicas.mirrors(repo.root)
    if mirror and chosen not in listed:
        listed.append(chosen)
    elif not mirror and chosen in listed:
        listed.remove(chosen)  # it is the default now
    replicas.write_mirrors(repo.root, listed)
    return RemoteInfo(chosen, url, "mirror" if mirror else "default")


def remove(repo: Repo, name: str) -> None:
    known = {r.name: r for r in storage.remotes(repo.root)}
    if name not in known:
        raise UsageError(f"no DVC remote {name!r} (have {', '.join(sorted(known)) or 'none'})")
    listed = replicas.mirrors(repo.root)
    if known[name].default and listed:
        raise UsageError(f"{name!r} is the default remote; point the default elsewhere first "
                         "('git ckpt remote add URL') or remove the mirrors")
    storage.remove_remote_config(repo.root, name)
    if name in listed:
        listed.remove(name)
        replicas.write_mirrors(repo.root, listed)


def _free_name(known: dict[str, storage.Remote]) -> str:
    n = 1
    while f"mirror{n}" in known:
        n += 1
    return f"mirror{n}"


def _check_name(name: str) -> None:
    if not _NAME.fullmatch(name):
        raise UsageError(f"invalid remote name {name!r}: letters, digits, '_', '.', '-'")


@dataclass(frozen=True)
class Holding:
    """Which replicas hold every object of one checkpoint."""

    id: str
    name: str
    held_by: tuple[str, ...]
    missing_from: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        return {"id": self.id, "name": self.name, "held_by": list(self.held_by),
                "missing_from": list(self.missing_from)}


def holdings(repo: Repo, refs: Sequence[str] = (), jobs: int | None = None) -> list[Holding]:
    """For each checkpoint (all reachable, or ``refs``), the replicas that hold its bytes."""
    ckpts = [repo.resolve(r) for r in refs] if refs else repo.checkpoints()
    needed = {}
    for c in ckpts:
        pointer = storage.Pointer(c.md5, c.size, c.path)
        needed[c.id] = storage.object_ids(repo.root, pointer)
    every = sorted({o for oids in needed.values() for o in oids})
    held = replicas.holdings(repo.root, every, jobs or replicas.default_jobs())
    out = []
    for c in ckpts:
        have = tuple(n for n, objs in held.items() if set(needed[c.id]) <= objs)
        out.append(Holding(c.id, c.name, have, tuple(n for n in held if n not in have)))
    return out
