"""``git ckpt save``: one checkpoint, one atomic commit.

Order matters for crash safety: bytes go into the cache first (content-addressed, renamed into
place), then the commit is built in a private index and published by a compare-and-swap of the
branch ref. A save killed before the ref moves leaves only an unreferenced cache object; after
it, the whole checkpoint. The user's index and work tree are updated last, for our paths only.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ckptgit import (
    hashing,
    index,
    names,
    paths,
    replicas,
    sidecar,
    storage,
    tensors,
    workfiles,
)
from ckptgit.capture import code as code_capture
from ckptgit.capture import data as data_capture
from ckptgit.capture import environment, values
from ckptgit.errors import CkptError, ExternalError, IntegrityError, UsageError
from ckptgit.hashmemo import HashMemo
from ckptgit.model import Checkpoint
from ckptgit.repo import Repo

_FORMATS = {".safetensors": "safetensors", ".pt": "pytorch", ".pth": "pytorch",
            ".bin": "binary", ".ckpt": "lightning", ".gguf": "gguf", ".onnx": "onnx",
            ".npz": "numpy", ".pkl": "pickle", ".joblib": "joblib", ".h5": "hdf5",
            ".keras": "keras"}


@dataclass
class SaveRequest:
    path: str | os.PathLike[str]
    name: str
    metrics: Mapping[str, Any] | None = None
    metrics_file: str | os.PathLike[str] | None = None
    params: Mapping[str, Any] | None = None
    params_file: str | os.PathLike[str] | None = None
    seeds: Mapping[str, Any] | None = None
    data: Sequence[str] = ()
    companions: Sequence[str] = ()  # tokenizer, eval results…: sealed and moved with it
    step: int | None = None
    epoch: float | None = None
    parent: str | None = None
    note: str | None = None
    labels: Sequence[str] = ()
    push: bool = False
    jobs: int | None = None  # parallel shard stores and transfers; None: one per core
    strict: bool = False
    command: list[str] | None = None
    cwd: Path | None = None
    distributions: Mapping[str, Any] | None = None
    slices: Mapping[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def save(repo: Repo, req: SaveRequest, progress: hashing.Progress | None = None) -> Checkpoint:
    _check_request(req)
    git, root = repo.git, repo.root
    rel = paths.artifact_path(root, req.path, req.cwd)
    if git.is_tracked(rel) or git.tracked_under(rel):
        raise UsageError(f"{rel} is tracked by git; checkpoints keep bytes in DVC: "
                         f"run 'git rm --cached -r {rel}' and commit first")
    existing = repo.checkpoints()
    _check_name_path(existing, req.name, rel)
    parent = _parent_id(repo, existing, req)
    # Everything bad input can break is read before a byte is copied: a refusal costs nothing.
    given = _inputs(repo, req)
    companion_paths = _companion_paths(repo, req, rel)
    is_safetensors = _format_of(root / rel) == "safetensors"
    summary = None
    if is_safetensors and req.strict:
        summary = tensors.summarize_for_save(root / rel, repo.config.max_header_bytes, True)
    before = os.stat(root / rel)
    # The bytes are hashed and copied on worker threads while this thread describes the
    # context and loads what the commit needs: md5 keeps one core busy for the whole read,
    # and the rest of the save fits in the other core's spare time.
    with ThreadPoolExecutor(1, thread_name_prefix="ckpt-store") as pool:
        memo = HashMemo(git.ckpt_dir)
        storing = pool.submit(storage.store, root, root / rel, progress, memo, req.jobs)
        try:
            doc = _describe(repo, req, rel, parent, given)
            if is_safetensors and summary is None:
                summary = tensors.summarize_for_save(root / rel, repo.config.max_header_bytes,
                                                     False)
            sidecar.prepare()
        except BaseException:
            wait([storing])  # an unreferenced cache object at worst: fsck reports it
            raise
        stored = storing.result()
        memo.save()
    if summary is not None:
        doc["tensors"] = summary
    after = os.stat(root / rel)
    if stored.nfiles is None and (before.st_size, before.st_mtime_ns) != (
            after.st_size, after.st_mtime_ns):
        raise IntegrityError(f"{rel} changed while it was being saved; save it again once "
                             "writing has finished")
    doc["artifact"].update(size=stored.size, md5=stored.md5, sha256=stored.sha256)
    if stored.nfiles is not None:
        doc["artifact"]["nfiles"] = stored.nfiles
        doc["artifact"]["files"] = dict(stored.files)  # diff --weights verifies shard by shard
    companions = _store_companions(repo, companion_paths)
    if companions:
        doc["companions"] = [_companion_entry(p, st) for p, st in companions.items()]
    sidecar.validate(doc, f"sidecar for {rel}")
    ckpt = _commit(repo, doc, rel, stored, companions)
    if req.push:
        _push(root, ckpt, req.jobs)
    return ckpt


def _check_request(req: SaveRequest) -> None:
    names.check_name(req.name)
    for label in req.labels:
        names.check_text(label, "--label")
        if not label.strip():
            raise UsageError("--label must not be empty")
    if req.note is not None:
        names.check_text(req.note.replace("\n", " "), "--note")
    if req.step is not None and req.step < 0:
        raise UsageError(f"--step must be 0 or more, not {req.step}")


def _check_name_path(existing: list[Checkpoint], name: str, rel: str) -> None:
    for ckpt in existing:
        if ckpt.name == name and ckpt.path != rel:
            raise UsageError(f"checkpoint {name!r} lives at {ckpt.path}; save that path, "
                             f"or pick a new name for {rel}")
        if ckpt.path == rel and ckpt.name != name:
            raise UsageError(f"{rel} already holds checkpoint {ckpt.name!r}; save it under "
                             f"that name")


def _parent_id(repo: Repo, existing: list[Checkpoint], req: SaveRequest) -> str | None:
    if req.parent:
        return repo.resolve(req.parent).id
    same = [c for c in existing if c.name == req.name]
    return max(same, key=lambda c: c.created_at).id if same else None


@dataclass(frozen=True)
class _Given:
    """What the user handed in, read and checked: files, data inputs."""

    metrics: dict[str, Any]
    params: dict[str, Any]
    data: list[dict[str, Any]]


def _inputs(repo: Repo, req: SaveRequest) -> _Given:
    root = repo.root
    file_metrics: dict[str, Any] = {}
    file_params: dict[str, Any] = {}
    if req.metrics_file is None and req.params_file is None and not req.metrics:
        file_metrics, file_params = values.defaults_from_dvclive(root)
    if req.metrics_file is not None:
        file_metrics = values.read_file(_user_path(req.metrics_file, req.cwd), "metrics")
    if req.params_file is not None:
        file_params = values.read_file(_user_path(req.params_file, req.cwd), "params")
    data = data_capture.capture(root, req.data, req.cwd) if req.data else []
    return _Given(file_metrics, file_params, data)


def _describe(repo: Repo, req: SaveRequest, rel: str, parent: str | None,
              given: _Given) -> dict[str, Any]:
    root, cfg = repo.root, repo.config
    file_metrics, file_params = given.metrics, given.params
    created = datetime.now(UTC)
    doc: dict[str, Any] = {
        "schema_version": sidecar.CURRENT_VERSION,
        "id": _new_id(created),
        "name": req.name,
        "created_at": created.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "artifact": {"path": rel, "kind": "directory" if (root / rel).is_dir() else "file",
                     "format": _format_of(root / rel), "size": 0, "md5": "", "sha256": ""},
        "code": code_capture.capture(repo.git, exclude=[rel, rel + ".dvc",
                                                       sidecar.path_for(rel)]),
        "environment": environment.capture(cfg.env_vars, cfg.record_packages),
        "seeds": values.finite(dict(req.seeds or {}), "seed"),
        "params": values.finite(values.merge(file_params, req.params), "param"),
        "metrics": values.finite(values.merge(file_metrics, req.metrics), "metric"),
        "parent": parent,
        "step": req.step,
    }
    if req.epoch is not None:
        doc["epoch"] = req.epoch
    if given.data:
        doc["data"] = given.data
    doc["labels"] = list(req.labels)
    doc["notes"] = req.note
    doc["owner"] = repo.git.identity()
    doc["command"] = req.command
    if req.distributions:
        doc["distributions"] = values.finite(dict(req.distributions), "distribution")
    if req.slices:
        doc["slices"] = values.finite(dict(req.slices), "slice metric")
    doc.update(req.extra)
    return doc


def _user_path(given: str | os.PathLike[str], cwd: Path | None) -> Path:
    p = Path(given)
    return p if p.is_absolute() else (cwd or Path.cwd()) / p


def _new_id(created: datetime) -> str:
    """16 random hex digits: short prefixes stay unique; ``created_at`` carries the order."""
    return secrets.token_hex(8)


def _format_of(path: Path) -> str:
    if path.is_dir():
        return "directory"
    return _FORMATS.get(path.suffix.lower(), path.suffix.lower().lstrip(".") or "unknown")


def _companion_paths(repo: Repo, req: SaveRequest, rel: str) -> list[str]:
    """``--with`` paths, checked like the artifact's own path."""
    out: list[str] = []
    for given in req.companions:
        comp = paths.artifact_path(repo.root, given, req.cwd)
        if comp == rel or comp in out:
            raise UsageError(f"--with {given} is listed twice or is the checkpoint itself")
        if repo.git.is_tracked(comp) or repo.git.tracked_under(comp):
            raise UsageError(f"--with {comp} is tracked by git; companions keep bytes in DVC: "
                             f"run 'git rm --cached -r {comp}' and commit first")
        out.append(comp)
    return out


def _store_companions(repo: Repo, comps: list[str]) -> dict[str, storage.Stored]:
    """Companions into the DVC cache, each with its own seal (one read pass each)."""
    return {comp: storage.store(repo.root, repo.root / comp) for comp in comps}


def _companion_entry(path: str, stored: storage.Stored) -> dict[str, Any]:
    entry: dict[str, Any] = {"path": path, "md5": stored.md5, "sha256": stored.sha256,
                             "size": stored.size}
    if stored.nfiles is not None:
        entry["nfiles"] = stored.nfiles
    return entry


def _ignore_edit(rel: str) -> tuple[str, Callable[[bytes | None], bytes | None]]:
    parent_dir = str(Path(rel).parent)
    ignore = ".gitignore" if parent_dir == "." else f"{parent_dir}/.gitignore"
    return ignore, lambda text: storage.with_ignore(text, Path(rel).name)


def _chain(first: Callable[[bytes | None], bytes | None],
           then: Callable[[bytes | None], bytes | None]) -> Callable[[bytes | None], bytes | None]:
    def edit(text: bytes | None) -> bytes | None:
        once = first(text)
        twice = then(once if once is not None else text)
        return twice if twice is not None else once
    return edit


def _commit(repo: Repo, doc: dict[str, Any], rel: str, stored: storage.Stored,
            companions: dict[str, storage.Stored] | None = None) -> Checkpoint:
    git, name = repo.git, doc["name"]
    own = {rel + ".dvc": storage.pointer_text(stored, Path(rel).name).encode(),
           sidecar.path_for(rel): sidecar.dump(doc).encode()}
    ignore, ignore_edit = _ignore_edit(rel)
    edits: dict[str, Callable[[bytes | None], bytes | None]] = {
        ignore: ignore_edit,
        "dvc.yaml": lambda text: storage.with_artifact(text, name, rel),
    }
    for comp, comp_stored in (companions or {}).items():
        own[comp + ".dvc"] = storage.pointer_text(comp_stored, Path(comp).name).encode()
        path, edit = _ignore_edit(comp)
        edits[path] = _chain(edits[path], edit) if path in edits else edit
    message = _message(doc)
    with workfiles.commit_lock(git):
        head = git.head()
        files = dict(own)
        for path, edit in edits.items():
            new = edit(git.show_file(head, path) if head else None)
            if new is not None:
                files[path] = new
        commit, blobs = git.commit_files(head, files, message)
        if not git.update_ref(git.head_ref(), commit, head, f"ckpt: save {name}"):
            raise ExternalError("the branch moved during the save; nothing was recorded, "
                                "save again")
        ckpt = Checkpoint.from_sidecar(doc, commit)
        index.record(git, head, commit, ckpt)
        _sync_user_view(repo, own, {p: e for p, e in edits.items() if p in files}, blobs)
    return ckpt


def _sync_user_view(
    repo: Repo,
    own: dict[str, bytes],
    edits: dict[str, Callable[[bytes | None], bytes | None]],
    blobs: dict[str, str],
) -> None:
    """Make index and work tree agree with the new commit for our paths, keep the rest.

    For shared files (``dvc.yaml``, ``.gitignore``) the same edit is applied to what the user
    has staged and to the work-tree copy, so their own pending changes there survive.
    """
    git, root = repo.git, repo.root
    staged = {p: blobs[p] for p in own}
    for path, edit in edits.items():
        index_text = git.show_file("", path)  # ":path" is the staged version
        if index_text is None:
            staged[path] = blobs[path]
        elif (new := edit(index_text)) is not None:
            staged[path] = git.write_blob(new)
    try:
        git.stage_blobs(staged)
    except CkptError as exc:
        raise ExternalError(f"checkpoint saved, but the index could not be updated ({exc}); "
                            f"run 'git reset -q -- {' '.join(staged)}'") from exc
    for path, data in own.items():
        workfiles.write_atomic(root / path, data)
    for path, edit in edits.items():
        current = root / path
        new = edit(current.read_bytes() if current.exists() else None)
        if new is not None:
            workfiles.write_atomic(current, new)


def _message(doc: dict[str, Any]) -> str:
    step = f" step {doc['step']}" if doc.get("step") is not None else ""
    subject = f"ckpt: save {doc['name']}{step} ({doc['id'][:8]})"
    body = (doc.get("notes") or "").strip()
    trailers = f"Ckpt-Id: {doc['id']}\nCkpt-Name: {doc['name']}\n"
    return f"{subject}\n\n{body}\n\n{trailers}" if body else f"{subject}\n\n{trailers}"


def _push(root: Path, ckpt: Checkpoint, jobs: int | None = None) -> None:
    """To the default DVC remote and every mirror at once (``replicas.push``)."""
    oids = storage.object_ids(root, storage.Pointer(ckpt.md5, ckpt.size, ckpt.path))
    try:
        replicas.push(root, oids, jobs or replicas.default_jobs())
    except CkptError as exc:
        raise ExternalError(f"checkpoint {ckpt.short_id} saved locally, but {exc}; "
                            f"retry with 'dvc push {ckpt.dvcfile}'") from exc
