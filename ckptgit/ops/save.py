"""``git ckpt save``: one checkpoint, one atomic commit.

Order matters for crash safety: bytes go into the cache first (content-addressed, renamed into
place), then the commit is built in a private index and published by a compare-and-swap of the
branch ref. A save killed before the ref moves leaves only an unreferenced cache object; after
it, the whole checkpoint. The user's index and work tree are updated last, for our paths only.
"""

from __future__ import annotations

import math
import os
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ckptgit import faults, hashing, index, names, paths, replicas, sidecar, storage, workfiles
from ckptgit.atomic import write_atomic
from ckptgit.capture import code as code_capture
from ckptgit.capture import data as data_capture
from ckptgit.capture import dvc_values, environment, sources, tensors, values
from ckptgit.errors import CkptError, ExternalError, IntegrityError, UsageError
from ckptgit.hashmemo import HashMemo
from ckptgit.model import Checkpoint
from ckptgit.policy import enforce
from ckptgit.repo import Repo

if TYPE_CHECKING:
    from ckptgit.policy.guardrails import Verdict
    from ckptgit.snapshot import Pin

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
    eval_data: Sequence[str] = ()  # [SECTION=]PATH: the data its metrics were computed on
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
    source: Pin | None = None  # bytes pinned when a background save was asked for
    run_started: float | None = None  # dvclive files older than this are another run's
    value_files: dict[str, tuple[bytes, float]] = field(default_factory=dict)  # read at call
    value_changed: dict[str, bool] = field(default_factory=dict)  # since this name's last call
    overrides: Sequence[str] = ()  # guardrail ids accepted for this save, with a rationale
    rationale: str | None = None


def save(repo: Repo, req: SaveRequest, progress: hashing.Progress | None = None,
         inputs: Callable[[sources.Supplied], None] | None = None) -> Checkpoint:
    """``inputs`` is told which files supplied metrics and params, before any byte is read."""
    try:
        with workfiles.saving(repo.git):
            return _save(repo, req, progress, inputs)
    finally:
        if req.source is not None:
            req.source.release()  # a refused save leaves no staged copy behind


def _save(repo: Repo, req: SaveRequest, progress: hashing.Progress | None,
          inputs: Callable[[sources.Supplied], None] | None) -> Checkpoint:
    # Everything up to the commit reads HEAD once: the checkpoints listed, the parent chosen
    # and the code state recorded are those of one commit (the commit re-reads it under its
    # lock, and moves it).
    with repo.git.head_pinned():
        got = _prepare(repo, req, progress, inputs)
    ckpt = _commit(repo, got.doc, got.rel, got.stored, got.companions,
                   decide_parent=req.parent is None, sign=got.sign)
    enforce.after_save(repo, got.verdict, ckpt, who=got.doc["owner"])
    if req.push:
        stored, rel, given = got.stored, got.rel, got.given
        _push(repo.root, ckpt, [
            storage.Pointer(stored.md5, stored.size, rel),
            *(storage.Pointer(st.md5, st.size, p) for p, st in got.companions.items()),
            *(storage.Pointer(d["md5"], d.get("size"), d["path"])
              for d in [*given.data, *given.eval_data])], req.jobs)
    return ckpt


@dataclass(frozen=True)
class _Prepared:
    """A save checked, described, judged and its bytes stored: what the commit needs."""

    rel: str
    doc: dict[str, Any]
    stored: storage.Stored
    companions: dict[str, storage.Stored]
    verdict: Verdict
    given: _Given
    sign: bool  # the commit is SSH-signed (the user's git config says so)


def _prepare(repo: Repo, req: SaveRequest, progress: hashing.Progress | None,
             inputs: Callable[[sources.Supplied], None] | None) -> _Prepared:
    _check_request(req)
    git, root, pin = repo.git, repo.root, req.source
    rel = paths.artifact_path(root, pin.real if pin else req.path, req.cwd, pinned=bool(pin))
    paths.check_name_text(rel, "artifact path")
    if pin is None:  # a pin checked the file kinds when it copied the bytes
        _check_file_kinds(root, rel, "artifact")
    if git.tracked_under(rel):  # the file itself, or any file under the directory
        raise UsageError(f"{rel} is tracked by git; checkpoints keep bytes in DVC: "
                         f"run 'git rm --cached -r {rel}' and commit first")
    existing = repo.checkpoints()
    _check_name_path(existing, req.name, rel)
    parent = _parent_id(repo, existing, req)
    # the expressions compile later, on this thread while the bytes hash on the other
    policy = enforce.policy_of(repo, compile_now=False)
    overrides = enforce.Overrides(tuple(req.overrides), req.rationale)
    overrides.check(policy)
    enforce.refuse_if_paused(repo, req.name)
    # Everything bad input can break is read before a byte is copied: a refusal costs nothing.
    given = _inputs(repo, req, existing)
    if inputs is not None:
        inputs(given.supplied)
    companion_paths = _companion_paths(repo, req, rel)
    is_dir = pin.is_dir if pin else (root / rel).is_dir()
    view = pin.view if pin and not is_dir else root / rel  # where this save's bytes are read
    is_safetensors = _format_of(Path(rel), is_dir) == "safetensors"
    summary = None
    if is_safetensors and (req.strict or pin):  # a pinned copy is consumed by storing it
        summary = tensors.summarize_for_save(view, repo.config.max_header_bytes, req.strict)
    before = None if pin else os.stat(view)
    # The bytes are hashed and copied on worker threads while this thread describes the
    # context and loads what the commit needs: md5 keeps one core busy for the whole read,
    # and the rest of the save fits in the other core's spare time.
    cancel = threading.Event()
    storage.preload(root, is_dir)  # on this thread: a worker that imports can hang Ctrl-C
    with ThreadPoolExecutor(1, thread_name_prefix="ckpt-store") as pool:
        memo = HashMemo(git.ckpt_dir)
        progress = _cancellable(faults.on_progress("copying", progress), cancel)
        storing = (pool.submit(pin.store, root, progress) if pin else
                   pool.submit(storage.store, root, root / rel, progress, memo, req.jobs))
        try:
            doc = _describe(repo, req, rel, parent, given, is_dir,
                            _own_paths(repo, req, [rel, *companion_paths]))
            verdict = enforce.before_save(repo, policy, doc,
                                          next((c for c in existing if c.id == parent), None),
                                          overrides)
            if is_safetensors and summary is None:
                summary = tensors.summarize_for_save(view, repo.config.max_header_bytes,
                                                     False)
            sidecar.prepare()
            sign = git.can_sign_ssh()  # read while the bytes hash, not after
            stored = storing.result()
        except BaseException:
            # Ctrl-C (or any failure) stops the copy at its next chunk instead of after the
            # whole file; its temporary is removed, nothing was committed
            cancel.set()
            wait([storing])
            raise
        memo.save()
    faults.point("stored")
    if summary is not None:
        doc["tensors"] = summary
    after = None if pin else os.stat(view)  # a pin checks its own bytes
    if before and after and stored.nfiles is None and (before.st_size, before.st_mtime_ns) != (
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
    return _Prepared(rel, doc, stored, companions, verdict, given, sign)


def _cancellable(progress: hashing.Progress | None,
                 cancel: threading.Event) -> hashing.Progress:
    def report(n: int) -> None:
        if cancel.is_set():
            raise hashing.Cancelled("save interrupted")
        if progress is not None:
            progress(n)
    return report


def _check_request(req: SaveRequest) -> None:
    names.check_name(req.name)
    for label in req.labels:
        names.check_text(label, "--label")
        if not label.strip():
            raise UsageError("--label must not be empty")
    if req.note is not None:
        names.check_text(req.note.replace("\n", " "), "--note")
    if req.step is not None and not 0 <= req.step < 1 << 63:
        # a 64-bit signed integer: what JSON consumers and every sidecar reader can hold
        raise UsageError(f"--step must be between 0 and 2^63-1, not {str(req.step)[:24]}")
    if req.epoch is not None and not (math.isfinite(req.epoch) and req.epoch >= 0):
        raise UsageError(f"--epoch must be a finite number >= 0, not {req.epoch}")


def _check_file_kinds(root: Path, rel: str, what: str) -> None:
    """Hostile names and file types, refused before a byte is read or anything written: a
    control character or an over-long derived name (``PATH.ckpt.yaml``), a symlink inside a
    directory, a FIFO, socket or device (opening one could block forever)."""
    paths.check_name_text(rel, f"{what} path")
    paths.check_tree(root / rel, rel)


def _check_name_path(existing: list[Checkpoint], name: str, rel: str) -> None:
    """A path holds one name; a name may move between paths (one file per epoch).

    Each save records its own path; restore writes the bytes back to the recorded one.
    """
    for ckpt in existing:
        if ckpt.path == rel and ckpt.name != name:
            raise UsageError(f"{rel} already holds checkpoint {ckpt.name!r}; save it under "
                             f"that name")


def _parent_id(repo: Repo, existing: list[Checkpoint], req: SaveRequest) -> str | None:
    if req.parent:
        return repo.resolve(req.parent).id
    return _latest_id(existing, req.name)


def _latest_id(existing: list[Checkpoint], name: str) -> str | None:
    same = [c for c in existing if c.name == name]
    return max(same, key=lambda c: c.created_at).id if same else None


@dataclass(frozen=True)
class _Given:
    """What the user handed in, read and checked: files, data inputs."""

    metrics: dict[str, Any]
    params: dict[str, Any]
    data: list[dict[str, Any]]
    step: int | None
    supplied: sources.Supplied
    eval_data: list[dict[str, Any]] = field(default_factory=list)


def _inputs(repo: Repo, req: SaveRequest, existing: list[Checkpoint]) -> _Given:
    root = repo.root
    asked = sources.Asked(
        metrics_file=_user_path(req.metrics_file, req.cwd) if req.metrics_file else None,
        params_file=_user_path(req.params_file, req.cwd) if req.params_file else None,
        has_metrics=bool(req.metrics), since=_since(existing, req), pinned=req.value_files,
        changed=req.value_changed)
    settings = repo.config.raw.get("save") or {}
    if not isinstance(settings, dict):
        raise UsageError(".ckpt/config.yaml: save must be a mapping")
    supplied = sources.gather(root, asked, settings)
    data = data_capture.capture(root, req.data, req.cwd) if req.data else []
    evaluated = data_capture.capture_eval(root, req.eval_data, req.cwd) if req.eval_data else []
    return _Given(supplied.metrics, supplied.params, data, supplied.step, supplied, evaluated)


def _since(existing: list[Checkpoint], req: SaveRequest) -> float | None:
    """The moment after which a dvclive file can belong to this save (seconds)."""
    last = max((c.created_at for c in existing if c.name == req.name), default=None)
    times = [req.run_started] if req.run_started is not None else []
    if last is not None:
        stamp = datetime.strptime(last, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        times.append(stamp.timestamp())
    return max(times, default=None)


def _own_paths(repo: Repo, req: SaveRequest, artifacts: list[str]) -> list[str]:
    """What this save writes or reads as input: not the code, so never what makes it dirty."""
    out = []
    for rel in artifacts:
        out += [rel, rel + ".dvc", sidecar.path_for(rel)]
    root = repo.root.resolve()
    for given in (req.metrics_file, req.params_file):
        if given is not None:
            path = _user_path(given, req.cwd).resolve()
            if root in path.parents:
                out.append(path.relative_to(root).as_posix())
    return out


def _describe(repo: Repo, req: SaveRequest, rel: str, parent: str | None,
              given: _Given, is_dir: bool, own: list[str]) -> dict[str, Any]:
    cfg = repo.config
    file_metrics, file_params = given.metrics, given.params
    created = datetime.now(UTC)
    doc: dict[str, Any] = {
        "schema_version": sidecar.CURRENT_VERSION,
        "id": _new_id(),
        "name": req.name,
        "created_at": _timestamp(created),
        "artifact": {"path": rel, "kind": "directory" if is_dir else "file",
                     "format": _format_of(Path(rel), is_dir), "size": 0, "md5": "",
                     "sha256": ""},
        "code": code_capture.capture(repo.git, exclude=own),
        "environment": environment.capture(cfg.env_vars, cfg.record_packages),
        "seeds": values.finite(dict(req.seeds or {}), "seed"),
        "params": values.finite(values.merge(file_params, req.params), "param"),
        "metrics": values.finite(values.merge(file_metrics, req.metrics), "metric"),
        "parent": parent,
        "step": req.step if req.step is not None else given.step,
    }
    if req.epoch is not None:
        doc["epoch"] = req.epoch
    if given.data:
        doc["data"] = given.data
    if given.eval_data:
        doc["eval_data"] = given.eval_data
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


def _timestamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _user_path(given: str | os.PathLike[str], cwd: Path | None) -> Path:
    p = Path(given)
    return p if p.is_absolute() else (cwd or Path.cwd()) / p


def _new_id() -> str:
    """16 random hex digits: short prefixes stay unique; ``created_at`` carries the order."""
    return secrets.token_hex(8)


def _format_of(path: Path, is_dir: bool) -> str:
    if is_dir:
        return "directory"
    return _FORMATS.get(path.suffix.lower(), path.suffix.lower().lstrip(".") or "unknown")


def _companion_paths(repo: Repo, req: SaveRequest, rel: str) -> list[str]:
    """``--with`` paths, checked like the artifact's own path."""
    out: list[str] = []
    for given in req.companions:
        comp = paths.artifact_path(repo.root, given, req.cwd)
        _check_file_kinds(repo.root, comp, "--with")
        if comp == rel or comp in out:
            raise UsageError(f"--with {given} is listed twice or is the checkpoint itself")
        if repo.git.tracked_under(comp):
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
            companions: dict[str, storage.Stored] | None = None,
            decide_parent: bool = False, sign: bool | None = None) -> Checkpoint:
    git, name = repo.git, doc["name"]
    own = {rel + ".dvc": storage.pointer_text(stored, Path(rel).name).encode()}
    ignore, ignore_edit = _ignore_edit(rel)
    metrics_file, params_file = dvc_values.files_for(name)
    own[metrics_file] = dvc_values.metrics_text(doc["metrics"])
    own[params_file] = dvc_values.params_text(doc["params"])
    edits: dict[str, Callable[[bytes | None], bytes | None]] = {
        ignore: ignore_edit,
        "dvc.yaml": _chain(lambda text: storage.with_artifact(text, name, rel),
                           lambda text: storage.with_values_files(text, metrics_file,
                                                                  params_file)),
    }
    for comp, comp_stored in (companions or {}).items():
        own[comp + ".dvc"] = storage.pointer_text(comp_stored, Path(comp).name).encode()
        path, edit = _ignore_edit(comp)
        edits[path] = _chain(edits[path], edit) if path in edits else edit
    message = _message(doc)
    sign = git.can_sign_ssh() if sign is None else sign
    with workfiles.commit_lock(git):
        for _ in range(_ATTEMPTS):
            # Decided again under the lock, against what has landed meanwhile: of two racing
            # saves of one new name from different paths exactly one lands; the parent is the
            # latest. Retried when a plain 'git commit' (which takes no lock of ours) moved the
            # branch between our read and our compare-and-swap.
            with git.head_pinned() as head:  # decided against the very commit replaced
                existing = repo.checkpoints()
            _check_name_path(existing, name, rel)
            if decide_parent:
                doc["parent"] = _latest_id(existing, name)
            # stamped now, so creation order is landing order (what 'latest' means)
            doc["created_at"] = _timestamp(datetime.now(UTC))
            own[sidecar.path_for(rel)] = sidecar.dump_record(doc)
            files = dict(own)
            shared = git.cat_files([f"{head}:{path}" for path in edits]) if head else {}
            for path, edit in edits.items():
                new = edit(shared.get(f"{head}:{path}"))
                if new is not None:
                    files[path] = new
            commit, blobs = git.commit_files(head, files, message, sign=sign)
            faults.point("built")
            if git.update_ref(git.head_ref(), commit, head, f"ckpt: save {name}"):
                break
        else:
            raise ExternalError("the branch kept moving during the save; nothing was recorded, "
                                "save again")
        faults.point("committed")
        ckpt = Checkpoint.of(sidecar.value_of(doc), commit)
        index.record(git, head, commit, ckpt)
        faults.point("indexed")
        _sync_user_view(repo, own, {p: e for p, e in edits.items() if p in files}, blobs)
    return ckpt


_ATTEMPTS = 5


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
    _stage(repo, staged)
    faults.point("staged")
    for path, data in own.items():
        write_atomic(root / path, data)
        faults.point("written")
    for path, edit in edits.items():
        current = root / path
        new = edit(current.read_bytes() if current.exists() else None)
        if new is not None:
            write_atomic(current, new)


def _stage(repo: Repo, staged: dict[str, str]) -> None:
    """Stage our paths, waiting out a user's git command that holds the index lock."""
    for attempt in range(_INDEX_ATTEMPTS):
        try:
            repo.git.stage_blobs(staged)
            return
        except CkptError as exc:
            if attempt + 1 == _INDEX_ATTEMPTS:
                raise ExternalError(
                    f"checkpoint saved, but the index could not be updated ({exc}); run "
                    "'git ckpt fsck --repair'") from exc
            time.sleep(0.1)


_INDEX_ATTEMPTS = 30  # 0.1 s apart: longer than git holds the lock for a commit


def _message(doc: dict[str, Any]) -> str:
    step = f" step {doc['step']}" if doc.get("step") is not None else ""
    subject = f"ckpt: save {doc['name']}{step} ({doc['id'][:8]})"
    body = (doc.get("notes") or "").strip()
    trailers = f"Ckpt-Id: {doc['id']}\nCkpt-Name: {doc['name']}\n"
    trailers += "".join(f"{line}\n" for line in enforce.trailers(doc))
    return f"{subject}\n\n{body}\n\n{trailers}" if body else f"{subject}\n\n{trailers}"


def _push(root: Path, ckpt: Checkpoint, pointers: list[storage.Pointer],
          jobs: int | None) -> None:
    """The artifact, its companions and its data inputs onto the DVC remote and each mirror,
    by object id."""
    oids = sorted({o for p in pointers for o in storage.object_ids(root, p)})
    try:
        lacking = replicas.push(root, oids, jobs)  # the default remote and every mirror
    except CkptError as exc:
        raise ExternalError(f"checkpoint {ckpt.short_id} saved locally, but dvc push failed "
                            f"({exc}); retry with 'dvc push'") from exc
    if lacking:
        raise ExternalError(f"checkpoint {ckpt.short_id} saved and pushed, but {len(lacking)} "
                            f"data input object(s) are not in the local cache (e.g. "
                            f"{lacking[0]}): push them from the machine that has them")
