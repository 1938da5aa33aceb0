"""The Python API behind ``ckptgit.save``, ``ckptgit.load`` and ``ckptgit.Tracker``."""

from __future__ import annotations

import copy
import functools
import os
import stat
import sys
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ckptgit import background, limits
from ckptgit import snapshot as snap
from ckptgit.model import Checkpoint

if TYPE_CHECKING:
    from ckptgit.capture.sources import Supplied



@functools.cache
def _process_started() -> float:
    """When this process began: dvclive files written before it belong to another run."""
    try:
        import psutil

        return float(psutil.Process().create_time())
    except Exception:  # noqa: BLE001 - no psutil or no /proc: the API's import time is close
        return _IMPORTED


_IMPORTED = time.time()


def save(
    path: str | os.PathLike[str],
    name: str,
    *,
    metrics: Mapping[str, Any] | str | os.PathLike[str] | None = None,
    params: Mapping[str, Any] | str | os.PathLike[str] | None = None,
    seeds: Mapping[str, Any] | None = None,
    data: Sequence[str] = (),
    eval_data: Sequence[str] = (),
    companions: Sequence[str] = (),
    distributions: Mapping[str, Any] | None = None,
    slices: Mapping[str, Any] | None = None,
    step: int | None = None,
    epoch: float | None = None,
    parent: str | None = None,
    note: str | None = None,
    labels: Sequence[str] = (),
    push: bool = False,
    strict: bool = False,
    repo: str | os.PathLike[str] = ".",
    background: bool = False,
    snapshot: bool | None = None,
) -> Checkpoint | Future[Checkpoint]:
    """Save ``path`` as checkpoint ``name``: one atomic commit, like ``git ckpt save``.

    ``metrics`` and ``params`` are mappings or paths to JSON/YAML files; ``companions`` are
    paths sealed with it (tokenizer, eval results); ``eval_data`` names the DVC-tracked data
    the metrics were computed on (``"data/val.csv"``, or ``"val=data/val.csv"`` for the
    metrics section ``val``), so comparisons can tell when it differs; ``distributions`` and
    ``slices`` follow the formats in docs/compare.md. With
    ``background=True`` a ``Future`` comes back at once and the bytes are hashed and stored
    on a worker thread. The save records exactly the bytes at ``path`` when it was called, or
    fails: ``snapshot=True`` copies them now (a reflink where the filesystem has them),
    ``False`` reads them in place later and fails that save if ``path`` was rewritten in the
    meantime, ``None`` (default) copies small files and paths saved before in this process
    (rolling checkpoints) and guards the rest. Saves still queued at exit finish first.
    """
    from ckptgit.names import check_name

    check_name(name)  # a typo fails in the training loop, not later on a worker thread
    fields, repo_path, argv = _fields(path, name, repo, dict(
        metrics=metrics, params=params, seeds=seeds, data=data, eval_data=eval_data,
        companions=companions,
        distributions=distributions, slices=slices, step=step, epoch=epoch, parent=parent,
        note=note, labels=labels, push=push, strict=strict))
    if background:
        return _submit(repo_path, fields, argv, snapshot,
                       lambda: _run_save(repo_path, fields, argv))
    return _run_save(repo_path, fields, argv)


def _fields(path: str | os.PathLike[str], name: str, repo: str | os.PathLike[str],
            options: dict[str, Any]) -> tuple[dict[str, Any], Path, list[str]]:
    """A save's request fields, fixed now on the caller's thread.

    Only cheap work happens here: the heavy imports and everything else run in _run_save.
    Mappings are copied now, so a training loop that keeps updating its metrics dict does not
    change what a pending background save records.
    """
    cwd = Path.cwd()
    metrics, params = options.pop("metrics", None), options.pop("params", None)
    fields: dict[str, Any] = dict(
        path=path, name=name, cwd=cwd,
        metrics=None if _is_path(metrics) else copy.deepcopy(metrics),
        metrics_file=metrics if _is_path(metrics) else None,
        params=None if _is_path(params) else copy.deepcopy(params),
        params_file=params if _is_path(params) else None,
    )
    for key in ("data", "eval_data", "companions", "labels"):
        fields[key] = list(options.pop(key, None) or ())
    fields.update(copy.deepcopy(options))
    repo_path = Path(repo) if Path(repo).is_absolute() else cwd / repo
    return fields, repo_path, list(sys.argv)


def _eval_at(cwd: Path, item: str) -> str:
    """``[SECTION=]PATH`` with PATH made absolute now (a later ``chdir`` must not change it)."""
    head, sep, tail = item.partition("=")
    if sep and head and "/" not in head and not (cwd / item).exists():
        return f"{head}={cwd / tail}"
    return str(cwd / item)


def _submit(repo_path: Path, fields: dict[str, Any], argv: list[str], snapshot: bool | None,
            run: Any) -> Future[Checkpoint]:
    """Pin the bytes now, on the caller's thread, and queue the rest for the worker."""
    pin = _pin(repo_path, Path(fields["cwd"]) / fields["path"], snapshot)
    fields["source"] = pin
    _value_files(repo_path, fields)
    step = f" step {fields['step']}" if fields.get("step") is not None else ""
    future: Future[Checkpoint] = background.worker().submit(
        run, f"{fields['name']}{step} ({fields['path']})", pin.release)
    return future


def _pin(repo_path: Path, path: Path, snapshot: bool | None) -> snap.Pin:
    def root() -> Path:  # only a copy needs it: git's discovery is left off the common path
        from ckptgit.git import Git

        return Git.discover(repo_path).root

    mode = {None: "auto", True: "copy", False: "guard"}[snapshot]
    return snap.pin(root, path, mode)


_last_values: dict[tuple[Path, str], dict[str, bytes]] = {}


def _value_files(repo_path: Path, fields: dict[str, Any]) -> None:
    """Metrics and params files as they are now: the next epoch may rewrite them.

    The files named, and dvclive's in its default folder (files named only in the config are
    read by the worker). dvclive's count as this save's when their bytes changed since the
    previous save of this name in this process.
    """
    cwd = Path(fields["cwd"])
    wanted = [cwd / f for f in (fields["metrics_file"], fields["params_file"]) if f]
    top = next((d for d in (repo_path, *repo_path.parents) if (d / ".git").exists()), None)
    live = [top / "dvclive" / "metrics.json", top / "dvclive" / "params.yaml"] if top else []
    found: dict[str, tuple[bytes, float]] = {}
    for path in wanted + live:
        try:
            st = os.stat(path)
            if not stat.S_ISREG(st.st_mode) or st.st_size > limits.active().values_bytes:
                continue  # never blocks here: the save itself refuses it with a reason
            found[os.fspath(path.resolve())] = (path.read_bytes(), st.st_mtime)
        except OSError:
            continue
    keys = [os.fspath(p.resolve()) for p in live]
    now = {k: found[k][0] for k in keys if k in found}
    before = _last_values.get((repo_path, fields["name"]))
    _last_values[(repo_path, fields["name"])] = now
    fields["value_files"] = found
    if before is not None:
        fields["value_changed"] = {k: before.get(k) != data for k, data in now.items()}


def _is_path(value: object) -> bool:
    return isinstance(value, (str, os.PathLike))


def _run_save(repo_path: Path, fields: dict[str, Any], argv: list[str]) -> Checkpoint:
    from ckptgit.capture import environment
    from ckptgit.ops.save import SaveRequest
    from ckptgit.ops.save import save as do_save
    from ckptgit.repo import Repo

    req = SaveRequest(**fields, command=environment.command_line(argv),
                      run_started=_process_started())
    return do_save(Repo.open(repo_path), req, inputs=_tell_inputs(req.name))


def _tell_inputs(name: str) -> Any:
    """Say on stderr which files supplied metrics or params, when files did (dvclive…)."""
    def tell(supplied: Supplied) -> None:
        if supplied.files:
            sys.stderr.write(f"ckptgit: {name}: {supplied.describe()}\n")
    return tell


def load(ref: str, repo: str | os.PathLike[str] = ".") -> dict[str, Any]:
    """The sidecar of checkpoint ``ref`` (any REF the CLI takes), plus its ``commit``."""
    from ckptgit.ops.show import full
    from ckptgit.repo import Repo

    return full(Repo.open(repo), ref)


class Tracker:
    """Saves of one training run: fills ``parent`` and ``step`` and repeats params and seeds.

    >>> with Tracker("clf", params={"lr": 3e-4}, seeds={"torch": 42}) as run:
    ...     run.save("models/clf-0.safetensors", metrics={"loss": 0.4}, background=True)
    ...     run.save("models/clf-1.safetensors", metrics={"loss": 0.3}, background=True)

    Each save may use a new path (one file per epoch) or the same one (a rolling checkpoint).
    ``eval_data`` (``[SECTION=]PATH``, DVC-tracked) is recorded with every save's metrics; a
    save may name its own with ``run.save(..., eval_data=[...])``.
    A background save that failed raises on the next call to the tracker, and at ``wait()``
    and ``close()`` (which the ``with`` block calls).
    """

    def __init__(
        self,
        name: str,
        *,
        params: Mapping[str, Any] | None = None,
        seeds: Mapping[str, Any] | None = None,
        data: Sequence[str] = (),
        labels: Sequence[str] = (),
        repo: str | os.PathLike[str] = ".",
        parent: str | None = None,
        eval_data: Sequence[str] = (),
        start_step: int = 0,
    ) -> None:
        from ckptgit.names import check_name

        self.name = check_name(name)
        self.params = dict(params or {})
        self.seeds = dict(seeds or {})
        self.data = list(data)
        self.eval_data = list(eval_data)
        self.labels = list(labels)
        self.repo = repo
        self.step = start_step
        self._last: str | Future[Checkpoint] | None = parent
        self.checkpoints: list[Checkpoint | Future[Checkpoint]] = []
        self._raised: set[int] = set()

    def save(
        self,
        path: str | os.PathLike[str],
        *,
        metrics: Mapping[str, Any] | None = None,
        step: int | None = None,
        note: str | None = None,
        background: bool = False,
        snapshot: bool | None = None,
        **kwargs: Any,
    ) -> Checkpoint | Future[Checkpoint]:
        self._raise_failed(block=False)
        step = self.step if step is None else step
        previous = self._last
        # Pinned now: a background save must record this call's values and paths, even if the
        # loop later updates its dicts or changes directory before the worker gets to it.
        cwd = Path.cwd()
        path = cwd / path
        evaluated = kwargs.pop("eval_data", self.eval_data)
        options = copy.deepcopy(dict(metrics=metrics, params=self.params, seeds=self.seeds,
                                     data=[str(cwd / d) for d in self.data],
                                     eval_data=[_eval_at(cwd, e) for e in evaluated],
                                     labels=self.labels, step=step, note=note,
                                     repo=cwd / self.repo, **kwargs))
        result: Checkpoint | Future[Checkpoint]
        if background:
            # The parent is known only once the previous save lands; the single worker runs
            # saves in order, so resolving it there never blocks the training loop.
            repo = options.pop("repo")
            fields, repo_path, argv = _fields(path, self.name, repo, options)
            result = _submit(repo_path, fields, argv, snapshot,
                             lambda: self._save_after(previous, repo_path, fields, argv))
        else:
            result = save(path, self.name, parent=_id_of(previous), **options)
        self._last = result if isinstance(result, Future) else result.id
        self.step = step + 1
        self.checkpoints.append(result)
        return result

    def _save_after(self, previous: str | Future[Checkpoint] | None, repo_path: Path,
                    fields: dict[str, Any], argv: list[str]) -> Checkpoint:
        fields["parent"] = _id_of(previous)
        return _run_save(repo_path, fields, argv)

    def wait(self) -> list[Checkpoint]:
        """Block until every background save of this run has landed; raise the first failure."""
        self._raise_failed(block=True)
        return [c.result() if isinstance(c, Future) else c for c in self.checkpoints]

    def close(self) -> list[Checkpoint]:
        """``wait()``; a run that ends should call it (or use the tracker as a context manager)."""
        return self.wait()

    def __enter__(self) -> Tracker:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: object) -> None:
        if kind is None:
            self.close()
            return
        try:  # the loop already failed: let its error through, but still land what was asked
            self.close()
        except Exception as failure:  # noqa: BLE001 - reported beside the error in flight
            sys.stderr.write(f"ckptgit: also, a background save of {self.name} failed: "
                             f"{failure}\n")

    def _raise_failed(self, *, block: bool) -> None:
        for ckpt in self.checkpoints:
            if not isinstance(ckpt, Future) or id(ckpt) in self._raised:
                continue
            if not block and not ckpt.done():
                continue
            exc = ckpt.exception()
            if exc is not None:
                self._raised.add(id(ckpt))
                raise exc


def _id_of(previous: str | Future[Checkpoint] | None) -> str | None:
    """The id of the previous save; None (the name's latest) when it failed."""
    if isinstance(previous, Future):
        # Future's own methods: asking here does not count as the caller having seen an error.
        failed = Future.exception(previous) is not None
        return None if failed else Future.result(previous).id
    return previous
