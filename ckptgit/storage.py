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
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ckptgit import hashing
from ckptgit.errors import ExternalError, IntegrityError, MissingDataError, UsageError
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


def _odb(root: Path) -> Any:
    from dvc_data.hashfile.db.local import LocalHashFileDB
    from dvc_objects.fs.local import LocalFileSystem

    return LocalHashFileDB(LocalFileSystem(), os.fspath(cache_root(root)))  # type: ignore[no-untyped-call]


# -- ingest -----------------------------------------------------------------------------------
def store(root: Path, artifact: Path, progress: hashing.Progress | None = None,
          memo: HashMemo | None = None, jobs: int | None = None) -> Stored:
    """Put ``artifact`` (a file or a directory) into the DVC cache in one read pass.

    A directory's files are stored ``jobs`` at a time (default: one per core); with ``memo``,
    a file unchanged since it was last stored, whose object is still cached, is not read.
    """
    if artifact.is_dir():
        return _store_dir(_odb(root), artifact, progress, memo, jobs or os.cpu_count() or 1)
    # DVC's object database (a 50-80 ms import) loads while the bytes stream in.
    with ThreadPoolExecutor(1, thread_name_prefix="ckpt-odb") as pool:
        odb = pool.submit(_odb, root)
        digests = _store_file(odb, artifact, progress, cache_root(root))
    return Stored(md5=digests.md5, sha256=digests.sha256, size=digests.size, nfiles=None)


def _store_file(odb: Any, src: Path, progress: hashing.Progress | None,
                cache: Path | None = None) -> hashing.Digests:
    """``odb`` is DVC's object database, or a future of it (then ``cache`` is its path)."""
    tmp_dir = (cache or Path(odb.path)) / "tmp"  # same filesystem: the final rename is atomic
    tmp_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=tmp_dir, prefix="ckpt-")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        digests = hashing.stream(src, tmp, md5=True, progress=progress)
        if isinstance(odb, Future):
            odb = odb.result()
        final = Path(odb.oid_to_path(digests.md5))
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, final)
        odb.protect(os.fspath(final))
    finally:
        tmp.unlink(missing_ok=True)
    return digests


def _store_shard(odb: Any, path: Path, progress: hashing.Progress | None,
                 memo: HashMemo | None) -> tuple[Known, int]:
    """One file of a directory: (its digests, bytes written into the cache)."""
    before = os.stat(path)
    known = memo.get(path, before) if memo is not None else None
    if known is not None and Path(odb.oid_to_path(known.md5)).exists():
        if progress:
            progress(known.size)
        return known, 0
    digests = _store_file(odb, path, progress)
    known = Known(digests.md5, digests.sha256, digests.size)
    if memo is not None:
        memo.put(path, before, known)
    return known, digests.size


def _store_dir(odb: Any, src: Path, progress: hashing.Progress | None,
               memo: HashMemo | None, jobs: int) -> Stored:
    from dvc_data.hashfile.hash_info import HashInfo
    from dvc_data.hashfile.meta import Meta
    from dvc_data.hashfile.tree import Tree

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
            lambda p: _store_shard(odb, p, report if progress else None, memo), order),
            strict=True))
    tree, seals, total, written = Tree(), [], 0, 0  # type: ignore[no-untyped-call]
    for path in files:
        known, wrote = done[path]
        rel = path.relative_to(src).as_posix()
        tree.add(tuple(rel.split("/")), Meta(size=known.size), HashInfo("md5", known.md5))
        seals.append((rel, known.sha256))
        total += known.size
        written += wrote
    tree.digest()
    final = Path(odb.oid_to_path(tree.oid))
    if not final.exists():
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.with_name(final.name + f".{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_bytes(tree.as_bytes())
        os.replace(tmp, final)
        odb.protect(os.fspath(final))
    return Stored(tree.oid, hashing.directory_seal(seals), total, len(seals), written,
                  tuple(sorted(seals)))


# -- DVC's small files ------------------------------------------------------------------------
def pointer_text(stored: Stored, name: str) -> str:
    """The ``.dvc`` file DVC itself would write for this output (DVC 3 format)."""
    import yaml

    out: dict[str, Any] = {"md5": stored.md5, "size": stored.size}
    if stored.nfiles is not None:
        out["nfiles"] = stored.nfiles
    out.update({"hash": "md5", "path": name})
    return yaml.safe_dump({"outs": [out]}, sort_keys=False)


# The pointer as DVC 3 and ckptgit write it; anything else goes through the YAML loader.
_POINTER = re.compile(
    rb"outs:\n- md5: ([0-9a-f]{32}(?:\.dir)?)\n  size: (\d{1,20})\n(?:  nfiles: (\d{1,12})\n)?"
    rb"  hash: md5\n  path: ([^\n'\"#:{}\[\],&*!|>%@`]+)\n")


def parse_pointer(text: bytes | str) -> Pointer:
    """What a ``.dvc`` file says. The common form is matched exactly (a YAML parse per pointer
    was half of a warm ``verify --all``); any other goes to the safe loader."""
    raw = text.encode() if isinstance(text, str) else text
    if (m := _POINTER.fullmatch(raw)) is not None and _plain_string(m.group(4)):
        nfiles = int(m.group(3)) if m.group(3) is not None else None
        return Pointer(m.group(1).decode(), int(m.group(2)), m.group(4).decode(), nfiles)
    return _parse_pointer_yaml(text)


_PLAIN = re.compile(rb"[A-Za-z0-9_][A-Za-z0-9_.+=-]*")


def _plain_string(value: bytes) -> bool:
    """Whether YAML reads ``value`` as exactly this string (not null, a bool or a number)."""
    import yaml

    if not _PLAIN.fullmatch(value):
        return False
    tag = yaml.resolver.Resolver().resolve(yaml.ScalarNode, value.decode(), (True, False))  # type: ignore[no-untyped-call]
    return bool(tag == "tag:yaml.org,2002:str")


def _parse_pointer_yaml(text: bytes | str) -> Pointer:
    import yaml

    try:
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506
        out = data["outs"][0]
        return Pointer(str(out["md5"]), out.get("size"), str(out["path"]), out.get("nfiles"))
    except (yaml.YAMLError, KeyError, IndexError, TypeError) as exc:
        raise IntegrityError(f"unreadable .dvc file: {exc}") from exc


def with_artifact(dvc_yaml: bytes | None, name: str, path: str) -> bytes | None:
    """``dvc.yaml`` with ``artifacts.NAME`` declared (comments kept); None when unchanged."""
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
    return cache_root(root) / md5[:2] / md5[2:]


def dir_entries(root: Path, md5: str) -> list[tuple[str, str]]:
    import json

    raw = object_path(root, md5).read_bytes()
    return [(e["relpath"], e["md5"]) for e in json.loads(raw)]


def missing_objects(root: Path, pointer: Pointer) -> list[str]:
    """Object ids of ``pointer`` that are not in the local cache."""
    if not object_path(root, pointer.md5).exists():
        return [pointer.md5]
    if not pointer.is_dir:
        return []
    return [m for _, m in dir_entries(root, pointer.md5) if not object_path(root, m).exists()]


@contextmanager
def _quiet_dvc() -> Iterator[None]:
    """DVC logs its own multi-line warnings; we raise one clear error instead, so mute them."""
    loggers = [logging.getLogger(n) for n in ("dvc", "dvc_data", "dvc_objects")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def fetch(root: Path, dvcfile: str, rev: str) -> None:
    """Bring a pointer's objects from the default remote into the cache, as of commit ``rev``.

    DVC reads the ``.dvc`` file from that commit itself; the work tree is not checked out.
    """
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    try:
        # workspace=False: only that commit's objects, not whatever the work tree points at
        with _quiet_dvc(), Repo(os.fspath(root)) as repo:
            repo.fetch(targets=[dvcfile], revs=[rev], workspace=False)
    # Remote backends fail with their own exceptions too (OSError, botocore, …); whatever the
    # cause, the bytes are not available and the user needs one line saying so.
    except Exception as exc:  # noqa: BLE001
        raise MissingDataError(
            f"could not fetch {dvcfile} at {rev[:12]} from the DVC remote: "
            f"{_failure(exc, DvcException)}"
        ) from exc


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
        import json

        with self.open(oid) as fh:
            return [(e["relpath"], e["md5"]) for e in json.loads(fh.read())]


@contextmanager
def remote_store(root: Path) -> Iterator[RemoteStore | None]:
    """The default remote, or None when the repository has none configured."""
    from dvc.config import NoRemoteError
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    with Repo(os.fspath(root)) as repo:
        try:
            odb = repo.cloud.get_remote_odb(hash_name="md5")
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


def push(root: Path, dvcfiles: Sequence[str]) -> None:
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    try:
        with _quiet_dvc(), Repo(os.fspath(root)) as repo:
            repo.push(targets=list(dvcfiles))
    except Exception as exc:  # noqa: BLE001 - as in fetch: any backend failure is one line
        raise ExternalError(f"dvc push failed: {_failure(exc, DvcException)}") from exc


def materialize(
    root: Path,
    pointer: Pointer,
    dest: Path,
    expected_sha256: str,
    progress: hashing.Progress | None = None,
) -> None:
    """Write the artifact to ``dest`` from the cache; the seal is checked before it appears.

    Written beside ``dest`` then renamed, so a failed or tampered restore leaves whatever was
    at ``dest`` untouched.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        target = staging / dest.name
        if pointer.is_dir:
            seal = _materialize_dir(root, pointer, target, progress)
        else:
            seal = hashing.stream(object_path(root, pointer.md5), target, md5=False,
                                  progress=progress).sha256
        if seal != expected_sha256:
            raise IntegrityError(
                f"bytes of {pointer.path} do not match the recorded seal "
                f"(sha256 {seal[:16]}… != {expected_sha256[:16]}…): the cache object is corrupt"
            )
        _replace(target, dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _materialize_dir(
    root: Path, pointer: Pointer, target: Path, progress: hashing.Progress | None
) -> str:
    seals = []
    for rel, md5 in dir_entries(root, pointer.md5):
        out = target / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        seals.append((rel, hashing.stream(object_path(root, md5), out, md5=False,
                                          progress=progress).sha256))
    return hashing.directory_seal(seals)


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


def missing_on_remote(root: Path, oids: Sequence[str]) -> list[str]:
    """Which of ``oids`` the default DVC remote lacks (one existence query for the lot)."""
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    if not oids:
        return []
    try:
        with Repo(os.fspath(root)) as repo:
            odb = repo.cloud.get_remote_odb(command="push")
            present = set(odb.oids_exist(list(oids)))
    except DvcException as exc:
        raise ExternalError(f"cannot query the DVC remote: {_one_line(exc)}") from exc
    return [o for o in oids if o not in present]


def push_revs(root: Path, dvcfiles_by_rev: dict[str, list[str]]) -> None:
    """Push the objects of ``.dvc`` files as they are at given commits (not the work tree)."""
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    try:
        with Repo(os.fspath(root)) as repo:
            for rev, dvcfiles in dvcfiles_by_rev.items():
                repo.push(targets=list(dvcfiles), revs=[rev], workspace=False)
    except DvcException as exc:
        raise ExternalError(f"dvc push failed: {_one_line(exc)}") from exc


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


def ensure_cached(root: Path, pointer: Pointer, dvcfile: str, rev: str, what: str) -> None:
    """The pointer's objects in the cache, fetched from the remote as of ``rev`` if needed."""
    if not missing_objects(root, pointer):
        return
    fetch(root, dvcfile, rev)
    missing = missing_objects(root, pointer)
    if missing:
        raise MissingDataError(
            f"bytes of {what} are in neither the cache nor the DVC remote ({len(missing)} "
            f"object(s) missing, e.g. {missing[0]}); push them from the machine that saved "
            "it: 'dvc push'")


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


def remove_remote(root: Path, name: str) -> None:
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
        fs = cls(**conf)
        conf.pop("worktree", None)
        conf["tmp_dir"] = os.fspath(root / DVC_DIR / "tmp")
        return get_odb(fs, fs.join(fs_path, "files", "md5"), hash_name="md5", **conf)  # type: ignore[no-untyped-call]
    except DvcException as exc:
        raise ExternalError(f"cannot open DVC remote {name!r}: {_one_line(exc)}") from exc


def remote_has(odb: Any, oids: Sequence[str], jobs: int | None = None) -> set[str]:
    """Which of ``oids`` a remote object database holds (one listing or a query per object)."""
    if not oids:
        return set()
    with _quiet_dvc():
        return set(odb.oids_exist(list(oids), jobs=jobs))


def send(root: Path, odb: Any, oids: Sequence[str], jobs: int | None = None) -> list[str]:
    """Copy cached objects to a remote database; returns the ids that failed."""
    return _transfer(_odb(root), odb, oids, jobs)


def receive(root: Path, odb: Any, oids: Sequence[str], jobs: int | None = None) -> list[str]:
    """Copy objects (a ``.dir`` brings its files) from a remote into the cache; failed ids."""
    return _transfer(odb, _odb(root), oids, jobs)


def _transfer(src: Any, dest: Any, oids: Sequence[str], jobs: int | None) -> list[str]:
    from dvc_data.hashfile.hash_info import HashInfo
    from dvc_data.hashfile.transfer import transfer

    if not oids:
        return []
    with _quiet_dvc():
        done = transfer(src, dest, [HashInfo("md5", o) for o in oids], jobs=jobs,
                        shallow=False)
    return sorted(str(h.value) for h in done.failed)
