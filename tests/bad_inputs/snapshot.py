"""Everything a refused command must leave as it was, in one comparable value.

Refs (with HEAD and the reflog-free tag list), the index, every file of the work tree (content
hashes; a FIFO or socket by its kind, never opened; a symlink by its target), the DVC cache, the
DVC remote and, when there is one, the server's refs. Two snapshots compare equal exactly when a
command changed none of these.
"""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

from conftest import Repo


@dataclass(frozen=True)
class Snapshot:
    refs: str
    index: str
    tree: tuple[tuple[str, str], ...]
    cache: tuple[tuple[str, str], ...]
    remote: tuple[tuple[str, str], ...]
    server: str

    def changes(self, other: Snapshot) -> list[str]:
        """What differs, by field, for an assertion message that says what moved."""
        out = []
        for name in ("refs", "index", "server"):
            if getattr(self, name) != getattr(other, name):
                out.append(name)
        for name in ("tree", "cache", "remote"):
            a, b = dict(getattr(self, name)), dict(getattr(other, name))
            moved = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
            if moved:
                out.append(f"{name}: {', '.join(moved[:5])}")
        return out


_HASHED = 64 << 20  # larger files (a test's sparse giant) by size and mtime, not read


def _git(path: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=path, capture_output=True, text=True,
                          check=False).stdout


def _files(top: Path, skip: tuple[str, ...] = ()) -> tuple[tuple[str, str], ...]:
    """Each entry under ``top`` by lstat only: nothing is opened that could block."""
    if not top.exists():
        return ()
    found = []
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = [d for d in dirnames if os.path.join(dirpath, d) not in skip]
        for name in [*filenames, *(d for d in dirnames if os.path.islink(os.path.join(dirpath,
                                                                                   d)))]:
            path = Path(dirpath, name)
            st = os.lstat(path)
            mode = st.st_mode
            rel = path.relative_to(top).as_posix()
            if stat.S_ISREG(mode) and st.st_size > _HASHED:
                found.append((rel, f"{st.st_size} bytes, mtime {st.st_mtime_ns}"))
            elif stat.S_ISREG(mode):
                found.append((rel, hashlib.sha256(path.read_bytes()).hexdigest()))
            elif stat.S_ISLNK(mode):
                found.append((rel, f"-> {os.readlink(path)}"))
            else:
                found.append((rel, f"mode {stat.S_IFMT(mode):o}"))
    return tuple(sorted(found))


def take(repo: Repo, server: Path | None = None) -> Snapshot:
    from ckptgit import storage

    root = repo.path
    refs = _git(root, "for-each-ref", "--format=%(refname) %(objectname)") + _git(
        root, "rev-parse", "HEAD")
    # DVC's own scratch (.dvc/tmp: locks, state) may change on any read; the cache is
    # compared on its own
    skip = tuple(str(root / p) for p in (".git", ".dvc/tmp", ".dvc/cache"))
    return Snapshot(
        refs=refs,
        index=_git(root, "ls-files", "-s"),
        tree=_files(root, skip),
        cache=_files(storage.cache_root(root)),
        remote=_files(repo.remote),
        server=_git(server, "for-each-ref", "--format=%(refname) %(objectname)")
        if server else "",
    )
