"""Sidecar YAML: safe C loading, dumping, JSON Schema validation and migration of old versions."""

from __future__ import annotations

import functools
import json
import logging
import os
import pickle
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any, TypeVar

from ckptgit import limits, loader
from ckptgit.errors import CkptError, IntegrityError, UsageError
from ckptgit.filenames import SIDECAR_SUFFIX
from ckptgit.model import Sidecar

if TYPE_CHECKING:
    from ckptgit.git import Git
    from ckptgit.model import Checkpoint

CURRENT_VERSION = 1
SUFFIX = SIDECAR_SUFFIX


# version N -> function turning a version-N document into version N+1. Old sidecars are
# migrated on read and never rejected; `schema_version` says which step to start from.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


def path_for(artifact_path: str) -> str:
    return artifact_path + SUFFIX


def load_saved(git: Git, ckpts: Sequence[Checkpoint],
               workers: int | None = None) -> list[Sidecar]:
    """The sidecars as each checkpoint's save commit recorded them, in one ``cat-file``;
    parsed on every core (``workers``, default one per core) when there are many."""
    specs = [f"{c.commit}:{c.sidecar_path}" for c in ckpts]
    unique = list(dict.fromkeys(specs))
    blobs = git.cat_files(unique)
    items = []
    for spec in unique:
        raw = blobs.get(spec)
        if raw is None:
            raise IntegrityError(f"{spec} is missing: the checkpoint's commit lost its sidecar")
        items.append((raw, spec))
    parsed = {spec: value_of(doc, spec)
              for spec, doc in zip(unique, load_many(items, workers), strict=True)}
    return [parsed[s] for s in specs]


def load_many(items: Sequence[tuple[bytes, str]],
              workers: int | None = None) -> list[dict[str, Any]]:
    """``load`` of many (text, what) pairs, in worker processes when there are many; the
    first failure is raised as ``load`` would raise it."""
    return _on_every_core(_load_pair, items, workers)


def parallel(fn: Callable[[_T], _R], items: Sequence[_T], workers: int | None = None) -> list[_R]:
    """``[fn(x) for x in items]`` on every core when there are many (``fn`` must be a
    module-level function: it runs in worker processes started with this repository's limits)."""
    return _on_every_core(fn, items, workers)


def _load_pair(item: tuple[bytes, str]) -> dict[str, Any]:
    return load(*item)


def parse_yaml(text: bytes | str, what: str, max_bytes: int | None = None,
               sections: bool = False) -> Any:
    """YAML through the one bounded loader (``loader``): no aliases, bounded size and depth."""
    return loader.load_yaml(text, what, max_bytes, sections)


def read(text: bytes | str, what: str = "sidecar") -> Sidecar:
    """The sidecar as a value: ``load`` (bounded, migrated), then parsed once, here.

    A document missing what every save writes (or holding it in the wrong shape) is refused
    as an integrity problem, never passed inward half-read.
    """
    return value_of(load(text, what), what)


def value_of(doc: dict[str, Any], what: str = "sidecar") -> Sidecar:
    """``Sidecar.from_doc`` for a document already loaded, a malformed one refused."""
    try:
        return Sidecar.from_doc(doc)
    except KeyError as exc:
        raise IntegrityError(f"{what} has no {exc.args[0]!r}: not a sidecar ckptgit wrote") from exc
    except (TypeError, ValueError, AttributeError) as exc:
        raise IntegrityError(f"{what} is malformed ({exc}): not a sidecar ckptgit wrote") from exc


def load(text: bytes | str, what: str = "sidecar", sections: bool = False,
         shared: bool = False) -> dict[str, Any]:
    """The raw document (migrated): for migration and schema validation; readers use ``read``.
    ``sections``, ``shared``: see ``loader.load_yaml`` (when reading many sidecars); a shared
    document that needs migrating is parsed again with its own copies (a migration edits)."""
    try:
        data = loader.load_yaml(text, what, sections=sections, shared=shared)
        if shared and isinstance(data, dict) and data.get("schema_version") != CURRENT_VERSION:
            data = loader.load_yaml(text, what, sections=sections)
    except UsageError as exc:
        raise IntegrityError(str(exc)) from exc
    if not isinstance(data, dict):
        raise IntegrityError(f"{what} is not a mapping")
    return migrate(data, what)


@dataclass(frozen=True)
class Checked:
    """One sidecar loaded and held against the schema (what ``load`` raised, as a message)."""

    doc: dict[str, Any] | None
    error: str | None
    problems: list[str]


# A process pool pays about 0.1 s to start; one sidecar takes 2-3 ms to parse.
PARALLEL_FROM = 200


def check_many(texts: Sequence[bytes], workers: int | None = None,
               keep: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> list[Checked]:
    """``load`` + ``schema_errors`` for many sidecars, on every core when there are many.

    ``keep`` (a module-level function, so workers can be handed it) reduces each checked
    document where it was parsed: a worker then sends back only what the caller reads. It
    must only read the document (see ``_check_kept``)."""
    if keep is None:
        return _on_every_core(check, texts, workers)
    return _on_every_core(functools.partial(_check_kept, keep, False), texts, workers,
                          here=functools.partial(_check_kept, keep, True))


def _check_kept(keep: Callable[[dict[str, Any]], dict[str, Any]], own: bool,
                text: bytes) -> Checked:
    """``check``, reduced by ``keep``, with the remembered sections shared, not copied: the
    document is only read here, and what ``keep`` returns leaves a worker pickled (a copy by
    construction); in this process (``own``) it is copied before it is handed on."""
    try:
        doc = load(text, sections=True, shared=True)
    except CkptError as exc:
        return Checked(None, str(exc), [])
    problems = schema_errors(doc)
    kept = keep(doc)
    if own:
        kept = pickle.loads(pickle.dumps(kept, pickle.HIGHEST_PROTOCOL))  # noqa: S301 - ours
    return Checked(kept, None, problems)


_T = TypeVar("_T")
_R = TypeVar("_R")


def _on_every_core(fn: Callable[[_T], _R], items: Sequence[_T], workers: int | None,
                   here: Callable[[_T], _R] | None = None) -> list[_R]:
    """``[fn(x) for x in items]``, in worker processes when there are many (``_in_workers``);
    in this process (``here`` instead of ``fn`` when given) when there are few or a pool cannot
    run."""
    workers = workers or os.cpu_count() or 1
    if len(items) >= PARALLEL_FROM and workers > 1:
        done = _in_workers(fn, items, workers, max(16, len(items) // (workers * 8)))
        if done is not None:
            return done
    return [(here or fn)(x) for x in items]


def _in_workers(fn: Callable[[_T], _R], items: Sequence[_T], workers: int,
                chunk: int) -> list[_R] | None:
    """``[fn(x) for x in items]`` in worker processes, or None if a pool cannot run.

    Parsing is pure Python (PyYAML builds every node in Python, even with the C parser), so
    threads would take turns on the GIL; worker processes (forkserver: no locks inherited from
    the caller's threads) parse side by side, started with this repository's limits.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    try:
        with ProcessPoolExecutor(min(workers, 32),
                                 mp_context=multiprocessing.get_context("forkserver"),
                                 initializer=limits.activate,
                                 initargs=(limits.active(),)) as pool:
            return list(pool.map(fn, items, chunksize=chunk))
    except (BrokenProcessPool, OSError) as exc:
        logging.getLogger(__name__).warning(
            "parsing %d sidecars on one core: the worker processes failed (%s)",
            len(items), exc)
    return None


def check_stored(git: Git, oids: Sequence[str],
                 keep: Callable[[dict[str, Any]], dict[str, Any]],
                 workers: int | None = None) -> list[Checked]:
    """``check_many(<the blobs oids>, keep=keep)``, each worker reading its own share of the
    blobs from git (one ``cat-file --batch`` per share): the texts (10 KB a sidecar, 100 MB
    at 10,000 saves) never pass through this process, and the first worker starts parsing
    while git still reads the others' shares."""
    workers = workers or os.cpu_count() or 1
    if len(oids) >= PARALLEL_FROM and workers > 1:
        size = max(16, len(oids) // (workers * 8))
        shares = [list(oids[i:i + size]) for i in range(0, len(oids), size)]
        where = (str(git.root), str(git.git_dir), str(git.common_dir))
        done = _in_workers(functools.partial(_check_share, where, keep), shares, workers, 1)
        if done is not None:
            return [found for share in done for found in share]
    blobs = git.cat_files(oids)
    return [_check_kept(keep, True, blobs[oid] or b"") for oid in oids]


def _check_share(where: tuple[str, str, str], keep: Callable[[dict[str, Any]], dict[str, Any]],
                 oids: list[str]) -> list[Checked]:
    """In a worker: read ``oids`` from the repository at ``where`` and check each."""
    from pathlib import Path

    from ckptgit.git import Git

    blobs = Git(*(Path(p) for p in where)).cat_files(oids)
    return [_check_kept(keep, False, blobs[oid] or b"") for oid in oids]


def check(text: bytes) -> Checked:
    try:
        doc = load(text, sections=True)
    except CkptError as exc:
        return Checked(None, str(exc), [])
    return Checked(doc, None, schema_errors(doc))


def migrate(data: dict[str, Any], what: str = "sidecar") -> dict[str, Any]:
    version = data.get("schema_version", 0)
    if not isinstance(version, int):
        raise IntegrityError(f"{what}: schema_version {version!r} is not a number")
    if version > CURRENT_VERSION:
        raise UsageError(
            f"{what} uses schema version {version}, newer than this ckptgit understands "
            f"({CURRENT_VERSION}): upgrade ckptgit"
        )
    while version < CURRENT_VERSION:
        step = MIGRATIONS.get(version)
        if step is None:
            raise IntegrityError(f"{what}: no migration from schema version {version}")
        data = step(data)
        version += 1
        data["schema_version"] = version
    return data


def dump(data: dict[str, Any]) -> str:
    from ckptgit import yamlsafe  # readers that never write YAML never import PyYAML

    return yamlsafe.dump(data, sort_keys=False, default_flow_style=False, allow_unicode=True,
                         width=100)


def dump_record(data: dict[str, Any]) -> bytes:
    """A sidecar's bytes for a commit; refused over ``limits.sidecar_bytes``, since every
    reader would refuse it (the caller has not committed anything yet)."""
    raw = dump(data).encode()
    cap = limits.active().sidecar_bytes
    if len(raw) > cap:
        raise loader.LimitError(f"the sidecar would be {len(raw):,} bytes, over the limit of "
                                f"{cap:,} (limits.sidecar_bytes); store large results as a "
                                "companion with --with")
    return raw


@functools.cache
def _schema() -> dict[str, Any]:
    text = resources.files("ckptgit").joinpath(f"schemas/sidecar-v{CURRENT_VERSION}.json")
    schema: dict[str, Any] = json.loads(text.read_text())
    return schema


@functools.cache
def _validator() -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(_schema())


@functools.cache
def _fast_validator() -> Any:
    import jsonschema_rs

    return jsonschema_rs.Draft202012Validator(_schema())


def prepare() -> None:
    """Build the validators now (imports), e.g. while a save hashes its bytes."""
    _fast_validator()


def schema_errors(data: dict[str, Any]) -> list[str]:
    """Every way ``data`` breaks the schema, as ``field.path: message`` lines.

    A compiled validator answers "valid?" about fifty times faster than jsonschema, which
    matters when verify reads 10,000 sidecars; jsonschema stays the judge of what is wrong,
    so the messages (and any case the two would see differently) are its own.
    """
    try:
        if _fast_validator().is_valid(data):
            return []
    except ValueError:
        pass  # not JSON-shaped (e.g. a non-string key): jsonschema explains it
    errors = sorted(_validator().iter_errors(data), key=lambda e: list(e.absolute_path))
    return [f"{'.'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message}"
            for e in errors]


def validate(data: dict[str, Any], what: str = "sidecar") -> None:
    problems = schema_errors(data)
    if problems:
        more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        raise IntegrityError(f"{what} does not match the sidecar schema: {problems[0]}{more}")
