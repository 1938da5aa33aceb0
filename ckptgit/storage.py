"""The DVC adapter: the only module that imports dvc.

Checkpoint bytes live in DVC's content-addressed cache and remote, in DVC's own layout, so
plain ``dvc pull`` / ``dvc checkout`` rehydrate any checkpoint without ckptgit. We hash and
copy in one pass ourselves (``hashing.stream``) and hand DVC's object database the result,
instead of ``dvc add``, which reads the file twice and starts the whole DVC repo machinery.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ckptgit import faults, hashing, paths
from ckptgit.atomic import write_atomic
from ckptgit.errors import CkptError, ExternalError, IntegrityError, MissingDataError, UsageError
from ckptgit.hashmemo import HashMemo, Known

log = logging.getLogger(__name__)

DVC_DIR = ".dvc"
DEFAULT_REMOTE = "ckpt"


@dataclass(frozen=True)
class Stored:
    """An artifact as it now sits in the DVC cache."""

    md5: str  # as DVC records it: ``<md5>`` for a file, ``<md5>.dir`` for a directory
    sha256: str
    size: int
    nfiles: int | None  # directories only
    written: int = -1  # bytes copied into the cache; -1: all of them (a single file)
    files: tuple[tuple[str, str], ...] = ()  # a directory's (relpath, sha256), sorted


@dataclass(frozen=True)
class Pointer:
    """What a ``.dvc`` file says."""

    md5: str
    size: int | None
    path: str
    nfiles: int | None = None
    labels: tuple[str, ...] = ()  # DVC's own ``labels:`` of the output (e.g. ``[pii]``)

    @property
    def is_dir(self) -> bool:
        return self.md5.endswith(".dir")


# -- repository set-up ----------------------------------------------------------------------
def is_initialized(root: Path) -> bool:
    return (root / DVC_DIR).is_dir()


def init(root: Path) -> None:
    """``dvc init``, quietly: its "you can now commit" advice is wrong here, we commit for you."""
    from dvc.repo import Repo

    dvc_log = logging.getLogger("dvc")
    level = dvc_log.level
    dvc_log.setLevel(logging.WARNING)
    try:
        Repo.init(os.fspath(root))
    finally:
        dvc_log.setLevel(level)


def configure(root: Path, remote_url: str | None, default_remote: Path) -> str:
    """Cache that never hardlinks into the workspace, and a default remote. Returns its URL.

    Hardlinks and symlinks would let an in-place rewrite of the workspace file (safetensors
    truncates and rewrites) corrupt the saved checkpoint, even with read-only cache files when
    the writer is root.
    """
    from dvc.config import Config

    config = Config(os.fspath(root / DVC_DIR))
    with config.edit("repo") as conf:
        conf.setdefault("cache", {})["type"] = "reflink,copy"
        remotes = conf.setdefault("remote", {})
        core = conf.setdefault("core", {})
        if remote_url is None and core.get("remote"):
            return str(remotes.get(core["remote"], {}).get("url", ""))
        if remote_url is None:
            default_remote.mkdir(parents=True, exist_ok=True)
            remote_url = os.fspath(default_remote)
        # DVC's config writer stores a relative path relative to the config file (taking it
        # from the current directory), as 'dvc remote add' does; every reader resolves it back
        remotes[DEFAULT_REMOTE] = {**remotes.get(DEFAULT_REMOTE, {}), "url": remote_url}
        core["remote"] = DEFAULT_REMOTE
    return remote_url


def cache_root(root: Path) -> Path:
    """DVC's object directory for md5 objects, honouring a configured ``cache.dir``.

    DVC's own ``Config`` (about 60 ms to import and 10 ms to build) is consulted only when one
    of the files it merges sets ``dir`` in a ``[cache]`` section; otherwise the cache is
    DVC's default, ``.dvc/cache``. Answers are kept per state of those files.
    """
    files = _config_files(root)
    stamp = tuple(_stamp(f) for f in files)
    key = (os.fspath(root), stamp)
    found = _CACHE_ROOTS.get(key)
    if found is None:
        found = _configured_cache_root(root) if any(_sets_cache_dir(f) for f in files) else \
            root / DVC_DIR / "cache"
        _CACHE_ROOTS[key] = found
    return found / "files" / "md5"


_CACHE_ROOTS: dict[tuple[str, tuple[tuple[int, int] | None, ...]], Path] = {}


def _configured_cache_root(root: Path) -> Path:
    from dvc.config import Config

    cache_dir = Config(os.fspath(root / DVC_DIR)).get("cache", {}).get("dir")
    base = Path(cache_dir) if cache_dir else root / DVC_DIR / "cache"
    if not base.is_absolute():
        base = (root / DVC_DIR / base).resolve()
    return base


def _config_files(root: Path) -> list[Path]:
    """The files DVC's Config merges: system, global, repo, local (see ``dvc.dirs``).

    Located as DVC does it, without importing ``dvc`` (whose package import alone is ~50 ms).
    Kept per root and environment: verify asks once per checkpoint.
    """
    key = (os.fspath(root), os.getenv("DVC_SYSTEM_CONFIG_DIR"), os.getenv("DVC_GLOBAL_CONFIG_DIR"),
           os.getenv("XDG_CONFIG_HOME"), os.getenv("HOME"))
    found = _CONFIG_FILES.get(key)
    if found is None:
        found = _CONFIG_FILES[key] = _locate_config_files(root)
    return found


_CONFIG_FILES: dict[tuple[str | None, ...], list[Path]] = {}


def _locate_config_files(root: Path) -> list[Path]:
    import platformdirs

    system = os.getenv("DVC_SYSTEM_CONFIG_DIR") or platformdirs.site_config_dir("dvc",
                                                                               "iterative")
    user = os.getenv("DVC_GLOBAL_CONFIG_DIR") or platformdirs.user_config_dir("dvc", "iterative")
    return [Path(system) / "config", Path(user) / "config", root / DVC_DIR / "config",
            root / DVC_DIR / "config.local"]


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


_SECTION = re.compile(r"^\s*\[(.*)\]\s*(?:#.*)?$")
_DIR_KEY = re.compile(r"^\s*dir\s*=")


def _sets_cache_dir(path: Path) -> bool:
    """Whether a DVC config file (configobj INI) has ``dir = …`` in its ``[cache]`` section."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return False
    section = None
    for line in text.splitlines():
        if (m := _SECTION.match(line)) is not None:
            section = m.group(1).strip().strip("'\"").strip().lower()
        elif section == "cache" and _DIR_KEY.match(line):
            return True
    return False


# -- ingest -----------------------------------------------------------------------------------
def preload(root: Path, directory: bool = True) -> None:
    """Import, on the calling (main) thread, everything ``store`` and ``store_pinned`` need.

    They run on worker threads. A worker that imports can block for ever on the import lock
    when Ctrl-C lands while the main thread is itself importing, and the save then hangs
    instead of exiting 130; so nothing is left for a worker to import. A single file needs
    none of DVC's modules (``directory=False``): only a directory's listing is built by DVC.
    """
    if directory:
        from dvc_data.hashfile.hash_info import HashInfo  # noqa: F401 - for the workers
        from dvc_data.hashfile.meta import Meta  # noqa: F401
        from dvc_data.hashfile.tree import Tree  # noqa: F401
    cache_root(root)  # a configured cache.dir is read with DVC's Config: here, not on a worker
    hashing.preload()


def store(root: Path, artifact: Path, progress: hashing.Progress | None = None,
          memo: HashMemo | None = None, jobs: int | None = None) -> Stored:
    """Put ``artifact`` (a file or a directory) into the DVC cache in one read pass.

    A directory's files are stored ``jobs`` at a time (default: one per core); with ``memo``,
    a file unchanged since it was last stored, whose object is still cached, is not read.
    """
    cache = cache_root(root)
    if artifact.is_dir():
        return _store_dir(cache, artifact, progress, memo, jobs or os.cpu_count() or 1)
    digests = _store_file(cache, artifact, progress)
    return Stored(md5=digests.md5, sha256=digests.sha256, size=digests.size, nfiles=None)


def _protect(path: Path) -> None:
    """Read-only, as DVC's local cache keeps its objects (``LocalHashFileDB.protect``)."""
    try:
        os.chmod(path, _CACHE_MODE)
    except OSError:  # a filesystem without modes (DVC does not fail there either)
        log.debug("could not make %s read-only", path)


_CACHE_MODE = 0o444


def _store_file(cache: Path, src: Path, progress: hashing.Progress | None) -> hashing.Digests:
    """One file into DVC's cache at ``<cache>/<2 hex>/<rest>`` (DVC's own layout), copied and
    hashed in one pass; no DVC module is needed for that (a 0.1 s import per save)."""
    tmp_dir = cache / "tmp"  # same filesystem: the final rename is atomic
    tmp_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=tmp_dir, prefix="ckpt-")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        digests = hashing.stream(src, tmp, md5=True, progress=progress)
        final = _object_at(cache, digests.md5)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, final)
        _protect(final)
    finally:
        tmp.unlink(missing_ok=True)
    return digests


def _store_shard(cache: Path, path: Path, progress: hashing.Progress | None,
                 memo: HashMemo | None) -> tuple[Known, int]:
    """One file of a directory: (its digests, bytes written into the cache)."""
    before = os.stat(path)
    known = memo.get(path, before) if memo is not None else None
    if known is not None and _object_at(cache, known.md5).exists():
        if progress:
            progress(known.size)
        return known, 0
    digests = _store_file(cache, path, progress)
    known = Known(digests.md5, digests.sha256, digests.size)
    if memo is not None:
        memo.put(path, before, known)
    return known, digests.size


def _store_dir(cache: Path, src: Path, progress: hashing.Progress | None,
               memo: HashMemo | None, jobs: int) -> Stored:
    files = sorted(p for p in src.rglob("*") if p.is_file())
    if not files:
        raise UsageError(f"{src} is an empty directory: nothing to save")
    lock = threading.Lock()

    def report(n: int) -> None:  # the caller's progress bar is not thread-safe
        with lock:
            progress(n)  # type: ignore[misc]

    # Largest first, so the last shard to start is a small one and no core idles at the end.
    order = sorted(files, key=lambda p: -p.stat().st_size)
    with ThreadPoolExecutor(max(1, jobs), thread_name_prefix="ckpt-shard") as pool:
        done = dict(zip(order, pool.map(
            lambda p: _store_shard(cache, p, report if progress else None, memo), order),
            strict=True))
    return _write_tree(cache, [(p.relative_to(src).as_posix(), *done[p]) for p in files])


def staging_dir(root: Path) -> Path:
    """A private folder on the cache's filesystem: files there become cache objects by rename."""
    tmp = cache_root(root) / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    return tmp


def store_pinned(root: Path, files: Sequence[tuple[str, Path]], *, single: bool, adopt: bool,
                 progress: hashing.Progress | None = None) -> Stored:
    """Bytes pinned by ``snapshot``: ``files`` are (relative path, readable path) pairs.

    With ``adopt`` the readable paths are private copies in ``staging_dir``: each is hashed
    and renamed into the cache (no second copy). Otherwise they are read and copied as usual.
    """
    cache = cache_root(root)

    def put(path: Path) -> hashing.Digests:
        return _adopt_file(cache, path, progress) if adopt else _store_file(cache, path,
                                                                            progress)

    if single:
        digests = put(files[0][1])
        return Stored(md5=digests.md5, sha256=digests.sha256, size=digests.size, nfiles=None)
    entries = []
    for rel, path in sorted(files):
        d = put(path)
        entries.append((rel, Known(d.md5, d.sha256, d.size), d.size))
    return _write_tree(cache, entries)


def _adopt_file(cache: Path, src: Path, progress: hashing.Progress | None) -> hashing.Digests:
    digests = hashing.stream(src, None, md5=True, progress=progress)
    fd = os.open(src, os.O_RDONLY)
    try:
        os.fsync(fd)  # the copy was made without waiting for the disk; it must be there now
    finally:
        os.close(fd)
    final = _object_at(cache, digests.md5)
    final.parent.mkdir(parents=True, exist_ok=True)
    os.replace(src, final)
    _protect(final)
    return digests


def _write_tree(cache: Path, entries: Sequence[tuple[str, Known, int]]) -> Stored:
    """The directory object for ``entries`` (relpath, digests, bytes written), in the cache."""
    from dvc_data.hashfile.hash_info import HashInfo
    from dvc_data.hashfile.meta import Meta
    from dvc_data.hashfile.tree import Tree

    tree, seals, total, written = Tree(), [], 0, 0  # type: ignore[no-untyped-call]
    for rel, known, wrote in entries:
        tree.add(tuple(rel.split("/")), Meta(size=known.size), HashInfo("md5", known.md5))
        seals.append((rel, known.sha256))
        total += known.size
        written += wrote
    tree.digest()
    final = _object_at(cache, tree.oid)
    if not final.exists():
        write_atomic(final, tree.as_bytes())
        _protect(final)
    return Stored(tree.oid, hashing.directory_seal(seals), total, len(seals), written,
                  tuple(sorted(seals)))


# -- DVC's small files ------------------------------------------------------------------------
def pointer_text(stored: Stored, name: str) -> str:
    """The ``.dvc`` file DVC itself would write for this output (DVC 3 format)."""
    from ckptgit import yamlsafe

    out: dict[str, Any] = {"md5": stored.md5, "size": stored.size}
    if stored.nfiles is not None:
        out["nfiles"] = stored.nfiles
    out.update({"hash": "md5", "path": name})
    return yamlsafe.dump({"outs": [out]}, sort_keys=False)


# The pointer as DVC 3 and ckptgit write it; anything else goes through the YAML loader.
_POINTER = re.compile(
    rb"outs:\n- md5: ([0-9a-f]{32}(?:\.dir)?)\n  size: (\d{1,20})\n(?:  nfiles: (\d{1,12})\n)?"
    rb"  hash: md5\n  path: ([^\n'\"#:{}\[\],&*!|>%@`]+)\n")


def parse_pointer(text: bytes | str) -> Pointer:
    """What a ``.dvc`` file says. The common form is matched exactly (a YAML parse per pointer
    was half of a warm ``verify --all``); any other goes to the one bounded loader."""
    raw = text.encode() if isinstance(text, str) else text
    if (m := _POINTER.fullmatch(raw)) is not None and _plain_string(m.group(4)):
        nfiles = int(m.group(3)) if m.group(3) is not None else None
        return Pointer(m.group(1).decode(), int(m.group(2)), m.group(4).decode(), nfiles)
    return _parse_pointer_yaml(text)


_PLAIN = re.compile(rb"[A-Za-z0-9_][A-Za-z0-9_.+=-]*")


def _plain_string(value: bytes) -> bool:
    """Whether YAML reads ``value`` as exactly this string (not null, a bool or a number)."""
    from ckptgit import yamlsafe

    return bool(_PLAIN.fullmatch(value)) and yamlsafe.reads_as_string(value.decode())


def _parse_pointer_yaml(text: bytes | str) -> Pointer:
    from ckptgit import loader

    try:
        data = loader.load_yaml(text, ".dvc file")
        out = data["outs"][0]
        labels = out.get("labels") or []
        pointer = Pointer(str(out["md5"]), out.get("size"), str(out["path"]), out.get("nfiles"),
                          tuple(str(v) for v in labels) if isinstance(labels, list) else ())
    except (CkptError, KeyError, IndexError, TypeError) as exc:
        raise IntegrityError(f"unreadable .dvc file: {exc}") from exc
    check_oid(pointer.md5, "unreadable .dvc file: md5")
    return pointer


_OID = re.compile(r"[0-9a-f]{32}(?:\.dir)?")


def check_oid(oid: str, what: str) -> str:
    """An object id from recorded data becomes a path in the cache and on the remote: refuse
    anything but an md5 (``.dir`` for a listing), so it can never walk elsewhere."""
    if not _OID.fullmatch(oid):
        raise IntegrityError(f"{what} {oid[:40]!r} is not an md5 object id")
    return oid


def with_artifact(dvc_yaml: bytes | None, name: str, path: str) -> bytes | None:
    """``dvc.yaml`` with ``artifacts.NAME`` declared (comments kept); None when unchanged."""
    if _declares(dvc_yaml, name, path):  # every save after the first: no ruamel (~25 ms)
        return None
    from dvc.utils.serialize import dumps_yaml, parse_yaml_for_update

    text = dvc_yaml.decode() if dvc_yaml else ""
    data = parse_yaml_for_update(text, "dvc.yaml") if text.strip() else {}
    artifacts = data.setdefault("artifacts", {}) if isinstance(data, dict) else None
    if artifacts is None:
        raise UsageError("dvc.yaml is not a mapping; fix it before saving checkpoints")
    entry = {"path": path, "type": "model"}
    if all(artifacts.get(name, {}).get(k) == v for k, v in entry.items()):
        return None
    artifacts[name] = {**artifacts.get(name, {}), **entry}
    return str(dumps_yaml(data)).encode()


def _declares(dvc_yaml: bytes | None, name: str, path: str) -> bool:
    """Whether ``dvc.yaml`` already declares ``artifacts.NAME`` at ``path`` as a model, read
    by the bounded safe loader. Anything it cannot say for sure (unreadable, over a limit,
    read differently) is a no, and the round-trip parser decides as before."""
    from ckptgit import loader

    if not dvc_yaml or _YAML12_OTHER.fullmatch(name) or _YAML12_OTHER.fullmatch(path):
        return False  # DVC reads YAML 1.2, which sees a number or a bool where we see text
    try:
        data = loader.load_yaml(dvc_yaml, "dvc.yaml")
    except CkptError:
        return False
    artifacts = data.get("artifacts") if isinstance(data, dict) else None
    entry = artifacts.get(name) if isinstance(artifacts, dict) else None
    return isinstance(entry, dict) and entry.get("path") == path and entry.get("type") == "model"


# YAML 1.2 core schema scalars that are not strings (PyYAML, YAML 1.1, reads some as text)
_YAML12_OTHER = re.compile(
    r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?|0o[0-7]+|0x[0-9a-fA-F]+"
    r"|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)|null|Null|NULL|~|true|True|TRUE|false|False|FALSE")


def with_values_files(dvc_yaml: bytes | None, metrics: str, params: str) -> bytes | None:
    """``dvc.yaml`` listing ``metrics`` and ``params`` in its top-level ``metrics:`` and
    ``params:`` (as dvclive registers its own), so ``dvc metrics diff``, ``dvc params diff``,
    Studio and the VS Code extension see them; None when already listed."""
    text = dvc_yaml.decode() if dvc_yaml else ""
    lines = set(text.splitlines())
    if f"- {metrics}" in lines and f"- {params}" in lines:  # every save after the first:
        return None  # no round-trip parser (~30 ms) for a no-op; a false miss just parses
    from dvc.utils.serialize import dumps_yaml, parse_yaml_for_update

    data = parse_yaml_for_update(text, "dvc.yaml") if text.strip() else {}
    if not isinstance(data, dict):
        raise UsageError("dvc.yaml is not a mapping; fix it before saving checkpoints")
    changed = False
    for key, path in (("metrics", metrics), ("params", params)):
        listed = data.setdefault(key, [])
        if not isinstance(listed, list):
            raise UsageError(f"dvc.yaml: {key} is not a list; fix it before saving checkpoints")
        if path not in listed:
            listed.append(path)
            changed = True
    return str(dumps_yaml(data)).encode() if changed else None


def with_ignore(gitignore: bytes | None, filename: str) -> bytes | None:
    """The ``.gitignore`` beside an artifact with the entry ``dvc add`` would write.

    Glob characters are escaped as DVC does (pathspec's ``escape``), so ``model[1].pt`` or
    ``run*.pt`` ignore exactly that file and a later ``dvc add`` finds its own line present.
    """
    line = "/" + "".join("\\" + c if c in "[]!*#?" else c for c in filename)
    text = gitignore.decode() if gitignore else ""
    if line in text.splitlines():
        return None
    if text and not text.endswith("\n"):
        text += "\n"
    return (text + line + "\n").encode()


# -- reading bytes back -----------------------------------------------------------------------
def object_path(root: Path, md5: str) -> Path:
    """Where DVC keeps object ``md5``: ``<cache>/files/md5/<2 hex>/<rest>``, as its
    ``HashFileDB.oid_to_path`` lays it out (no dvc_data import for a path)."""
    return _object_at(cache_root(root), md5)


def _object_at(cache: Path, oid: str) -> Path:
    return cache / oid[:2] / oid[2:]


def dir_entries(root: Path, md5: str) -> list[tuple[str, str]]:
    return listing(object_path(root, md5).read_bytes(), md5)


def listing(raw: bytes, oid: str) -> list[tuple[str, str]]:
    """A directory object's ``(relpath, md5)`` entries, each checked before any use: the
    listing comes from a cache or remote that may be hostile, and both values become paths."""
    from ckptgit import loader

    try:
        data = loader.load_json(raw, f"directory listing {oid}", max_bytes=1 << 30)
        entries = [(str(e["relpath"]), str(e["md5"])) for e in data]
    except (CkptError, KeyError, TypeError) as exc:
        raise IntegrityError(f"directory listing {oid} is unreadable: {exc}") from exc
    for rel, md5 in entries:
        parts = rel.split("/")
        if (rel.startswith("/") or "\\" in rel or any(p in ("", ".", "..") for p in parts)
                or any(ord(c) < 32 for c in rel) or not _OID.fullmatch(md5)):
            raise IntegrityError(f"directory listing {oid} holds a hostile entry {rel[:80]!r}; "
                                 "refused")
    return entries


def missing_objects(root: Path, pointer: Pointer) -> list[str]:
    """Object ids of ``pointer`` that are not in the local cache."""
    if not object_path(root, pointer.md5).exists():
        return [pointer.md5]
    if not pointer.is_dir:
        return []
    return [m for _, m in dir_entries(root, pointer.md5) if not object_path(root, m).exists()]


@contextmanager
def _quiet_dvc() -> Iterator[None]:
    """DVC logs its own multi-line warnings; we raise one clear error instead, so mute them.

    Replicas are written on several threads at once, each inside this block: the levels are
    saved by the first to enter and restored by the last to leave, so an interleaving can
    never leave DVC muted for the rest of a long-running process.
    """
    global _muted
    with _MUTE_LOCK:
        if _muted == 0:
            loggers = [logging.getLogger(n) for n in ("dvc", "dvc_data", "dvc_objects")]
            _SAVED_LEVELS[:] = [(lg, lg.level) for lg in loggers]
            for lg in loggers:
                lg.setLevel(logging.CRITICAL)
        _muted += 1
    try:
        yield
    finally:
        with _MUTE_LOCK:
            _muted -= 1
            if _muted == 0:
                for lg, level in _SAVED_LEVELS:
                    lg.setLevel(level)


_MUTE_LOCK = threading.Lock()
_SAVED_LEVELS: list[tuple[logging.Logger, int]] = []
_muted = 0


class RemoteStore:
    """Read-only access to the default DVC remote's objects, without copying into the cache.

    Verification reads remote bytes through this so a corrupt remote object is reported, never
    planted in the local cache.
    """

    def __init__(self, odb: Any) -> None:
        self._odb = odb

    def exists(self, oid: str) -> bool:
        return bool(self._odb.exists(oid))

    def open(self, oid: str) -> Any:
        return self._odb.fs.open(self._odb.oid_to_path(oid), mode="rb")

    def where(self, oid: str) -> str:
        return str(self._odb.oid_to_path(oid))

    def dir_entries(self, oid: str) -> list[tuple[str, str]]:
        with self.open(oid) as fh:
            return listing(fh.read(), oid)


@contextmanager
def remote_store(root: Path, name: str | None = None) -> Iterator[RemoteStore | None]:
    """Remote ``name`` (default: the default remote), or None when the repository has none
    configured."""
    from dvc.config import NoRemoteError
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    with Repo(os.fspath(root)) as repo:
        try:
            odb = repo.cloud.get_remote_odb(name, hash_name="md5")
        except NoRemoteError:
            yield None
            return
        except DvcException as exc:
            raise ExternalError(f"cannot open the DVC remote: {_one_line(exc)}") from exc
        yield RemoteStore(odb)


def pull_into(worktree: Path, main_root: Path, dvcfiles: Sequence[str]) -> None:
    """``dvc pull`` of ``dvcfiles`` in a linked git worktree, sharing the main clone's cache
    (objects already there are not downloaded again)."""
    from dvc.config import Config
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    cache_dir = cache_root(main_root).parent.parent
    with Config(os.fspath(worktree / DVC_DIR)).edit("local") as conf:
        conf.setdefault("cache", {})["dir"] = os.fspath(cache_dir)
    try:
        with Repo(os.fspath(worktree)) as repo:
            repo.pull(targets=[os.fspath(worktree / f) for f in dvcfiles])
    except DvcException as exc:
        raise MissingDataError(f"dvc pull in {worktree} failed: {_one_line(exc)}") from exc


def materialize(
    root: Path,
    pointer: Pointer,
    dest: Path,
    expected_sha256: str,
    progress: hashing.Progress | None = None,
    staging_dir: Path | None = None,
    fetched: Mapping[str, Fetched] | None = None,
) -> None:
    """Write the artifact to ``dest`` from the cache; the seal is checked before it appears.

    Written in ``staging_dir`` (beside ``dest`` by default; it must be on the same filesystem)
    then renamed, so a failed, tampered or killed restore leaves whatever was at ``dest``
    untouched. Objects in ``fetched`` (just downloaded, their sha256 taken from the bytes as
    they were written to the cache) are copied by the kernel without a second hash pass, as
    long as the cache file is still the one that download wrote; any other is hashed as it
    is copied.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    if staging_dir is not None:
        staging_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name[:64]}.", dir=staging_dir or dest.parent))
    known = fetched or {}
    try:
        target = staging / dest.name
        if pointer.is_dir:
            seal = _materialize_dir(root, pointer, target, progress, known)
        else:
            seal = _copy_out(root, pointer.md5, target, known, progress)
        if seal != expected_sha256:
            raise IntegrityError(
                f"bytes of {pointer.path} do not match the recorded seal "
                f"(sha256 {seal[:16]}… != {expected_sha256[:16]}…): the cache object is corrupt"
            )
        faults.point("restore-staged")
        _replace(target, dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _copy_out(root: Path, oid: str, out: Path, known: Mapping[str, Fetched],
              progress: hashing.Progress | None) -> str:
    """One cache object copied to ``out``; its sha256 (from the download, or hashed now)."""
    src = object_path(root, oid)
    seen = known.get(oid)
    if seen is None or not seen.still(src):
        return hashing.stream(src, out, md5=False, progress=progress).sha256
    hashing.copy(src, out)
    if not seen.still(src):  # rewritten while it was copied: hash what is there now
        return hashing.stream(src, out, md5=False, progress=progress).sha256
    if progress:
        progress(seen.size)
    return seen.sha256


def _materialize_dir(
    root: Path, pointer: Pointer, target: Path, progress: hashing.Progress | None,
    known: Mapping[str, Fetched],
) -> str:
    """Each member copied out and sealed, one file per core at a time (largest first)."""
    members = []
    for rel, md5 in dir_entries(root, pointer.md5):
        out = paths.confined(target, rel, f"directory member of {pointer.path}")
        out.parent.mkdir(parents=True, exist_ok=True)
        members.append((rel, md5, out))
    lock = threading.Lock()

    def report(n: int) -> None:  # the caller's progress bar is not thread-safe
        with lock:
            progress(n)  # type: ignore[misc]

    def one(member: tuple[str, str, Path]) -> tuple[str, str]:
        rel, md5, out = member
        return rel, _copy_out(root, md5, out, known, report if progress else None)

    members.sort(key=lambda m: -_size_or_zero(object_path(root, m[1])))
    hashing.preload()  # on this thread: the workers below must not import
    with ThreadPoolExecutor(os.cpu_count() or 1, thread_name_prefix="ckpt-out") as pool:
        return hashing.directory_seal(pool.map(one, members))


def _size_or_zero(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # a missing object fails in the copy, with its own message


def _replace(target: Path, dest: Path) -> None:
    if dest.is_dir() and not dest.is_symlink():
        old = dest.with_name(f".{dest.name}.old-{os.getpid()}")
        os.replace(dest, old)
        os.replace(target, dest)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(target, dest)


def _failure(exc: BaseException, expected: type[BaseException]) -> str:
    """DVC's own errors read well as they are; name the type of anything else."""
    if isinstance(exc, expected):
        return _one_line(exc)
    return f"{type(exc).__name__}: {_one_line(exc)}"


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def configure_local(root: Path, site_cache: Path) -> None:
    """Keep DVC's machine-local state (its site cache) inside this clone's ``.git/``."""
    from dvc.config import Config

    site_cache.mkdir(parents=True, exist_ok=True)
    config = Config(os.fspath(root / DVC_DIR))
    with config.edit("local") as conf:
        conf.setdefault("core", {}).setdefault("site_cache_dir", os.fspath(site_cache))


# -- the DVC remote, for the pre-push hook ---------------------------------------------------
def object_ids(root: Path, pointer: Pointer) -> list[str]:
    """Every object a pointer needs: the file's, or a directory's listing and its files'."""
    if not pointer.is_dir or not object_path(root, pointer.md5).exists():
        return [pointer.md5]
    return [pointer.md5, *(m for _, m in dir_entries(root, pointer.md5))]


def missing_on_remote(root: Path, oids: Sequence[str], remote: str | None = None,
                      jobs: int | None = None) -> list[str]:
    """Which of ``oids`` DVC remote ``remote`` (default: the default one) lacks (one existence
    query for the lot, ``jobs`` requests at a time where the backend asks object by object)."""
    from dvc.exceptions import DvcException

    if not oids:
        return []
    try:
        with _push_odb(root, remote) as odb:
            present = set(odb.oids_exist(list(oids), jobs=jobs))
    except Exception as exc:  # noqa: BLE001 - any backend error (OSError, botocore…) is one line
        raise ExternalError(f"cannot query the DVC remote: {_failure(exc, DvcException)}") \
            from exc
    return [o for o in oids if o not in present]


_REMOTE_ADDRESS_KEYS = ("url", "endpointurl", "region")


def write_remote_config(dest: Path, root: Path) -> str | None:
    """A DVC config in ``dest`` that reaches this repository's default remote, without git.

    For a server that checks pushed checkpoints' bytes with no work tree or cache. Only the
    remote's address is copied, never credentials: a server brings its own (environment, or
    ``dest/.dvc/config.local``). Returns the remote URL, or None when there is no remote.
    """
    from dvc.config import Config

    merged = Config(os.fspath(root / DVC_DIR))
    name = merged.get("core", {}).get("remote")
    if not name or name not in merged.get("remote", {}):
        return None
    address = {k: v for k, v in merged["remote"][name].items() if k in _REMOTE_ADDRESS_KEYS}
    (dest / DVC_DIR).mkdir(parents=True, exist_ok=True)
    (dest / DVC_DIR / "config").touch()
    with Config(os.fspath(dest / DVC_DIR)).edit("repo") as conf:
        conf["core"] = {"no_scm": True, "remote": name}
        conf["remote"] = {name: address}
    return str(address.get("url", ""))


def ensure_cached(root: Path, pointer: Pointer, dvcfile: str, rev: str, what: str,
                  remote_name: str | None = None, jobs: int | None = None) -> dict[str, Fetched]:
    """The pointer's objects in the cache, copied from remote ``remote_name`` (default: the
    default remote) if needed, ``jobs`` transfers at a time (default: 4 per core); what was
    downloaded, by object id, with the sha256 of the bytes as they were written.

    A read never modifies the remote: each object is downloaded beside the cache, its md5
    checked, and only then renamed into the cache. A corrupt remote object is reported by
    name (exit 3) and left where it is for its owner to inspect (DVC's own fetch deletes it).
    """
    fetched: dict[str, Fetched] = {}
    if not missing_objects(root, pointer):
        return fetched
    try:
        with _quiet_dvc(), _remote_objects(root, remote_name) as odb:
            if odb is not None:
                fetched = _adopt(root, odb, pointer, jobs or 4 * (os.cpu_count() or 1))
    except (IntegrityError, UsageError):
        raise
    except Exception as exc:  # noqa: BLE001 - any backend error (OSError, botocore…) is one line
        raise MissingDataError(f"could not fetch {dvcfile} at {rev[:12]} from the DVC remote: "
                               f"{_one_line(exc)}") from exc
    missing = missing_objects(root, pointer)
    if missing:
        raise MissingDataError(
            f"bytes of {what} are in neither the cache nor the DVC remote ({len(missing)} "
            f"object(s) missing, e.g. {missing[0]}); push them from the machine that saved "
            "it: 'dvc push'")
    return fetched


# -- named remotes, object transfers (replicas) -----------------------------------------------
@dataclass(frozen=True)
class Remote:
    name: str
    url: str
    default: bool


def remotes(root: Path) -> list[Remote]:
    """The DVC remotes of this repository (every config level merged), default first."""
    from dvc.config import Config

    merged = Config(os.fspath(root / DVC_DIR))
    default = merged.get("core", {}).get("remote")
    found = [Remote(n, str(c.get("url", "")), n == default)
             for n, c in merged.get("remote", {}).items()]
    return sorted(found, key=lambda r: not r.default)


def set_remote(root: Path, name: str, url: str, *, default: bool) -> None:
    """Add remote ``name`` (or re-point it) in ``.dvc/config``, as ``dvc remote add`` would.

    Settings already there (endpoint, region) are kept; credentials stay in ``config.local``.
    """
    from dvc.config import Config

    with Config(os.fspath(root / DVC_DIR)).edit("repo") as conf:
        remotes_conf = conf.setdefault("remote", {})
        remotes_conf[name] = {**remotes_conf.get(name, {}), "url": url}
        if default:
            conf.setdefault("core", {})["remote"] = name


def remove_remote_config(root: Path, name: str) -> None:
    """Forget DVC remote ``name`` (every config level); its objects are not touched."""
    from dvc.config import Config

    for level in ("repo", "local"):
        with Config(os.fspath(root / DVC_DIR)).edit(level) as conf:
            conf.get("remote", {}).pop(name, None)
            if conf.get("core", {}).get("remote") == name:
                conf["core"].pop("remote")


def remote_odb(root: Path, name: str) -> Any:
    """DVC's object database on remote ``name``, built from the config alone.

    What ``dvc fetch``/``dvc push`` reach through a whole ``dvc.repo.Repo`` (its index of
    every stage and output): about 0.2-0.4 s we skip, for the same objects in the same layout.
    """
    from dvc.config import Config
    from dvc.exceptions import DvcException
    from dvc.fs import get_cloud_fs
    from dvc_data.hashfile.db import get_odb

    try:
        cls, conf, fs_path = get_cloud_fs(Config(os.fspath(root / DVC_DIR)), name=name)
        fs = _tuned(cls(**conf))
        conf.pop("worktree", None)
        conf["tmp_dir"] = os.fspath(root / DVC_DIR / "tmp")
        return get_odb(fs, fs.join(fs_path, "files", "md5"), hash_name="md5", **conf)  # type: ignore[no-untyped-call]
    except DvcException as exc:
        raise ExternalError(f"cannot open DVC remote {name!r}: {_one_line(exc)}") from exc


# A replica that is down must fail in seconds, not after botocore's legacy retry schedule
# (5 attempts, exponential back-off: 8-12 s here for a refused connection, per request) or
# its 60 s connect timeout. The standard mode's 3 attempts still ride out throttling.
_S3_CLIENT = {"retries": {"total_max_attempts": 3, "mode": "standard"}, "connect_timeout": 10,
              # every byte read is md5-checked by us (and sealed): botocore's CRC32 of each
              # response body would only spend CPU on the same bytes again
              "response_checksum_validation": "when_required"}


def _tuned(fs: Any) -> Any:
    """An S3 remote's client with ``_S3_CLIENT`` (settings the user gave DVC win); other
    remotes as they are. Must run before the fs makes its client (it does so lazily)."""
    if getattr(fs, "protocol", None) != "s3" or "fs" in vars(fs):
        return fs
    client = fs.fs_args.setdefault("config_kwargs", {})
    for key, value in _S3_CLIENT.items():
        if client.get(key) is None:
            client[key] = value
    return fs


def remote_has(odb: Any, oids: Sequence[str], jobs: int | None = None) -> set[str]:
    """Which of ``oids`` a remote object database holds (one listing or a query per object)."""
    if not oids:
        return set()
    with _quiet_dvc():
        return set(odb.oids_exist(list(oids), jobs=jobs))


@contextmanager
def _remote_objects(root: Path, name: str | None) -> Iterator[Any]:
    """Remote ``name``'s object database from the config alone (no ``dvc.repo.Repo``); for
    DVC's unnamed default, through DVC's repo as before; None when there is no remote."""
    if name is not None:
        yield remote_odb(root, name)
        return
    with remote_store(root) as remote:
        if remote is None:
            yield None
            return
        _tuned(remote._odb.fs)  # noqa: SLF001 - this module's wrapper
        yield remote._odb  # noqa: SLF001


def _adopt(root: Path, odb: Any, pointer: Pointer, jobs: int) -> dict[str, Fetched]:
    """Copy the pointer's missing objects from ``odb``, each verified before it lands; what
    was downloaded.

    A directory's files come ``jobs`` at a time; a single large object comes in ``jobs``
    ranged requests at once (as ``dvc pull`` does through s3fs), hashed as the parts arrive.
    """
    fetched: dict[str, Fetched] = {}
    if not object_path(root, pointer.md5).exists():
        _keep(fetched, pointer.md5, _adopt_one(root, odb, pointer.md5, jobs))
    if not pointer.is_dir or not object_path(root, pointer.md5).exists():
        return fetched
    wanted = list(dict.fromkeys(m for _, m in dir_entries(root, pointer.md5)
                                if not object_path(root, m).exists()))
    if not wanted:
        return fetched
    workers = min(jobs, len(wanted))
    each = max(1, jobs // workers)
    sizes = _listed_sizes(root, pointer.md5)
    with ThreadPoolExecutor(workers, thread_name_prefix="ckpt-fetch") as pool:
        for oid, seen in zip(wanted, pool.map(
                lambda m: _adopt_one(root, odb, m, each, sizes.get(m)), wanted), strict=True):
            _keep(fetched, oid, seen)
    return fetched


def _listed_sizes(root: Path, oid: str) -> dict[str, int]:
    """Member sizes a directory listing states (DVC writes them; older listings may not).

    Only a hint, to spare a size request per small shard: the listing is checked against its
    md5 but a size in it could still be wrong, so it never sets how much is read (see
    ``_adopt_one``), and every byte is md5-checked all the same."""
    from ckptgit import loader

    data = loader.load_json(object_path(root, oid).read_bytes(), f"directory listing {oid}",
                            max_bytes=1 << 30)
    return {e["md5"]: e["size"] for e in data if isinstance(e, dict)
            and isinstance(e.get("md5"), str) and type(e.get("size")) is int}


def _keep(fetched: dict[str, Fetched], oid: str, seen: Fetched | None) -> None:
    if seen is not None:
        fetched[oid] = seen


@dataclass(frozen=True)
class Fetched:
    """A cache object as its download wrote it: the sha256 of those bytes, and the file's
    identity then, so a copy made later can tell that it still reads the same file. The
    change time is part of it: any write, chmod or rename moves it, and unlike the
    modification time no ``utime`` can set it back."""

    sha256: str
    size: int
    inode: int
    ctime_ns: int

    @classmethod
    def of(cls, path: Path, sha256: str) -> Fetched:
        st = path.stat()
        return cls(sha256, st.st_size, st.st_ino, st.st_ctime_ns)

    def still(self, path: Path) -> bool:
        try:
            st = path.stat()
        except OSError:
            return False
        return (st.st_size, st.st_ino, st.st_ctime_ns) == (self.size, self.inode, self.ctime_ns)


PART = 16 << 20  # bytes per ranged request of a large object


def _adopt_one(root: Path, odb: Any, oid: str, jobs: int,
               listed: int | None = None) -> Fetched | None:
    """One object into the cache, md5 checked first; absent on the remote: left missing (None).

    The sha256 of the same bytes is taken in the same pass, so the restore that asked for
    them checks its seal without reading them again. An object its directory listing says is
    small (``listed``) is read in one request capped at ``PART`` bytes, with no size request
    first; when that request comes back full, the listing understated it, and the object is
    read again the ordinary way.
    """
    import hashlib

    rpath = odb.oid_to_path(oid)
    small = listed is not None and 0 < listed < PART
    try:
        whole = odb.fs.cat_file(rpath, start=0, end=PART) if small else None
        if whole is not None and len(whole) >= PART:  # more than listed: read it all, by size
            whole = None
        size = 0 if whole is not None else odb.fs.size(rpath)
    except FileNotFoundError:
        return None  # the caller names what is still missing
    tmp_dir = cache_root(root) / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=tmp_dir, prefix="ckpt-fetch-")
    md5, sha = hashlib.md5(usedforsecurity=False), hashlib.sha256()
    chunks = [whole] if whole is not None else _parts(odb.fs, rpath, int(size or 0), jobs)
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                md5.update(chunk)
                sha.update(chunk)
                out.write(chunk)
        if md5.hexdigest() != oid.removesuffix(".dir"):
            raise IntegrityError(
                f"the DVC remote's object {oid} is corrupt (its bytes hash to "
                f"{md5.hexdigest()}); left in place at {rpath}: restore it from "
                "a machine that has the checkpoint ('dvc push')")
        final = object_path(root, oid)
        final.parent.mkdir(parents=True, exist_ok=True)
        faults.point("fetched")
        os.chmod(tmp_name, 0o444)  # as DVC protects its cache objects
        os.replace(tmp_name, final)
        return Fetched.of(final, sha.hexdigest())
    finally:
        Path(tmp_name).unlink(missing_ok=True)


def _parts(fs: Any, rpath: str, size: int, jobs: int) -> Iterator[bytes]:
    """The object's bytes in order, fetched by ranged reads ``jobs`` at a time.

    At most ``2 * jobs`` parts are held at once, so memory stays bounded whatever the size.
    A size of 0 (or one the remote does not report) is read in one request.
    """
    if size <= PART or jobs <= 1:
        if size <= PART:
            yield fs.cat_file(rpath)
            return
        for start in range(0, size, PART):
            yield fs.cat_file(rpath, start=start, end=min(size, start + PART))
        return
    starts = iter(range(0, size, PART))
    with ThreadPoolExecutor(jobs, thread_name_prefix="ckpt-part") as pool:
        window: list[Future[bytes]] = []
        for start in starts:
            window.append(pool.submit(fs.cat_file, rpath, start=start,
                                      end=min(size, start + PART)))
            if len(window) >= 2 * jobs:
                yield window.pop(0).result()
        for job in window:
            yield job.result()


@contextmanager
def _push_odb(root: Path, remote: str | None) -> Iterator[Any]:
    """The object database ``dvc push`` would write to: built from the config alone for a
    named remote (no ``dvc.repo.Repo`` and its index), through DVC's repo for the default."""
    if remote is not None:
        yield remote_odb(root, remote)
        return
    from dvc.repo import Repo

    with Repo(os.fspath(root)) as repo:
        odb = repo.cloud.get_remote_odb(None, command="push")
        _tuned(odb.fs)
        yield odb


def preload_remote(root: Path, name: str | None) -> None:
    """Import, on the calling thread, what transfers to remote ``name`` use (see ``preload``:
    worker threads must not import). A remote that cannot be opened is left for the transfer
    itself to report."""
    from dvc_objects.fs import generic  # noqa: F401 - imported for the workers
    from dvc_objects.fs.local import LocalFileSystem  # noqa: F401

    if name is None:
        return
    try:
        remote_odb(root, name)
    except Exception:  # noqa: BLE001, S110 - reported by the transfer, with its own message
        pass


def push_objects(root: Path, oids: Sequence[str], remote: str | None = None,
                 jobs: int | None = None, *, lacking: bool = False) -> list[str]:
    """Copy objects from the local cache to DVC remote ``remote`` (default: the default one),
    by id (no revision walk, so relative remotes and data inputs recorded at any commit work
    alike), ``jobs`` at a time. With ``lacking`` (the caller has just asked the remote, e.g.
    ``missing_on_remote``), no object's existence is asked again, one request each. Returns
    the ids the local cache lacks, which were not pushed."""
    from dvc_objects.fs.local import LocalFileSystem

    have = [o for o in oids if object_path(root, o).exists()]
    try:
        with _quiet_dvc(), _push_odb(root, remote) as odb:
            local = LocalFileSystem()  # type: ignore[no-untyped-call]
            odb.add([os.fspath(object_path(root, o)) for o in have], local, have, verify=False,
                    check_exists=not lacking, jobs=jobs)
    except Exception as exc:  # noqa: BLE001 - any backend error (OSError, botocore…) is one line
        raise ExternalError(f"cannot copy to the DVC remote: {_one_line(exc)}") from exc
    return [o for o in oids if o not in set(have)]


def remote_dir_entries(root: Path, oid: str) -> list[str]:
    """Object ids listed by directory object ``oid``: from the cache, else from the remote."""
    if object_path(root, oid).exists():
        return [m for _, m in dir_entries(root, oid)]
    try:
        with _quiet_dvc(), remote_store(root) as remote:
            if remote is None or not remote.exists(oid):
                return []
            return [m for _, m in remote.dir_entries(oid)]
    except (ValueError, KeyError, TypeError) as exc:
        raise IntegrityError(f"unreadable directory listing {oid} on the DVC remote") from exc


def remote_url(root: Path) -> str | None:
    """The default DVC remote's URL as DVC resolves it (relative paths made absolute from the
    config file that sets them), or None when there is none."""
    from dvc.config import Config

    merged = Config(os.fspath(root / DVC_DIR))
    name = merged.get("core", {}).get("remote")
    if not name or name not in merged.get("remote", {}):
        return None
    return str(merged["remote"][name].get("url", "")) or None


# -- policy: what guardrails see of the remote, and what retention removes -----------------------
def remote_settings(root: Path) -> dict[str, str]:
    """The default remote as guardrails see it: ``url``, ``scheme`` (``s3``, ``https``, ``ssh``,
    ``local`` …) and ``sse`` (S3 server-side encryption, e.g. ``AES256``; "" when unset)."""
    from dvc.config import Config

    merged = Config(os.fspath(root / DVC_DIR))
    name = merged.get("core", {}).get("remote")
    remote = merged.get("remote", {}).get(name) if name else None
    if not remote:
        return {"url": "", "scheme": "", "sse": ""}
    url = str(remote.get("url", ""))
    scheme = url.split("://", 1)[0].lower() if "://" in url else "local"
    return {"url": url, "scheme": scheme, "sse": str(remote.get("sse", "") or "")}


def remove_cached(root: Path, oids: Sequence[str]) -> int:
    """Delete objects from the local cache; the bytes freed (absent objects count 0)."""
    freed = 0
    for oid in oids:
        path = object_path(root, oid)
        try:
            size = path.stat().st_size
            path.unlink()
        except FileNotFoundError:
            continue
        freed += size
    return freed


def remove_remote(root: Path, oids: Sequence[str]) -> int:
    """Delete objects from the default DVC remote; the bytes freed there."""
    freed = 0
    with remote_store(root) as remote:
        if remote is None:
            raise UsageError("no DVC remote is configured: 'prune --remote' has nothing to "
                             "prune; set one with 'dvc remote add -d NAME URL'")
        fs = remote._odb.fs  # noqa: SLF001 - the store is this module's own wrapper
        try:
            for oid in oids:
                path = remote._odb.oid_to_path(oid)  # noqa: SLF001
                if not fs.exists(path):
                    continue
                freed += int(fs.size(path) or 0)
                fs.rm(path)
        except Exception as exc:  # noqa: BLE001 - any backend: one line, nothing half-claimed
            raise ExternalError(f"cannot remove objects from the DVC remote: "
                                f"{_one_line(exc)}; nothing else was changed there") from exc
    return freed


def check_remote(root: Path) -> None:
    """A clear error unless the default DVC remote is configured and answers."""
    with remote_store(root) as remote:
        if remote is None:
            raise UsageError("no DVC remote is configured: 'prune --remote' has nothing to "
                             "prune; set one with 'dvc remote add -d NAME URL'")
        try:
            remote.exists("0" * 32)
        except Exception as exc:  # noqa: BLE001 - any backend: one line
            raise ExternalError(f"the DVC remote cannot be reached ({_one_line(exc)}); nothing "
                                "was pruned") from exc
