"""The Python API behind ``ckptgit.save``, ``ckptgit.load`` and ``ckptgit.Tracker``."""

from __future__ import annotations

import atexit
import copy
import os
import sys
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ckptgit.model import Checkpoint

_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _background() -> ThreadPoolExecutor:
    """One worker per process: background saves land in the order they were asked for."""
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(1, thread_name_prefix="ckptgit-save")
            atexit.register(_executor.shutdown, wait=True)
        return _executor


def save(
    path: str | os.PathLike[str],
    name: str,
    *,
    metrics: Mapping[str, Any] | str | os.PathLike[str] | None = None,
    params: Mapping[str, Any] | str | os.PathLike[str] | None = None,
    seeds: Mapping[str, Any] | None = None,
    data: Sequence[str] = (),
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
) -> Checkpoint | Future[Checkpoint]:
    """Save ``path`` as checkpoint ``name``: one atomic commit, like ``git ckpt save``.

    ``metrics`` and ``params`` are mappings or paths to JSON/YAML files; ``companions`` are
    paths sealed with it (tokenizer, eval results); ``distributions`` and ``slices`` follow
    the formats in docs/compare.md. With
    ``background=True`` a ``Future`` comes back at once and the bytes are hashed and stored
    on a worker thread; don't rewrite ``path`` until it resolves (a change mid-read fails the
    save instead of recording a mix of two models).
    """
    from ckptgit.names import check_name

    # Only cheap work happens here, on the caller's thread: the heavy imports and everything
    # else run in _run_save. Mappings are copied now, so a training loop that keeps updating
    # its metrics dict does not change what a pending background save records.
    check_name(name)  # a typo fails in the training loop, not later on a worker thread
    cwd = Path.cwd()
    fields: dict[str, Any] = dict(
        path=path, name=name,
        metrics=None if _is_path(metrics) else copy.deepcopy(metrics),
        metrics_file=metrics if _is_path(metrics) else None,
        params=None if _is_path(params) else copy.deepcopy(params),
        params_file=params if _is_path(params) else None,
        seeds=copy.deepcopy(seeds), data=list(data), companions=list(companions),
        distributions=copy.deepcopy(distributions), slices=copy.deepcopy(slices),
        step=step, epoch=epoch, parent=parent,
        note=note, labels=list(labels), push=push, strict=strict, cwd=cwd,
    )
    argv = list(sys.argv)
    repo_path = Path(repo) if Path(repo).is_absolute() else cwd / repo
    if background:
        return _background().submit(_run_save, repo_path, fields, argv)
    return _run_save(repo_path, fields, argv)


def _is_path(value: object) -> bool:
    return isinstance(value, (str, os.PathLike))


def _run_save(repo_path: Path, fields: dict[str, Any], argv: list[str]) -> Checkpoint:
    from ckptgit.capture import environment
    from ckptgit.ops.save import SaveRequest
    from ckptgit.ops.save import save as do_save
    from ckptgit.repo import Repo

    req = SaveRequest(**fields, command=environment.command_line(argv))
    return do_save(Repo.open(repo_path), req)


def load(ref: str, repo: str | os.PathLike[str] = ".") -> dict[str, Any]:
    """The sidecar of checkpoint ``ref`` (any REF the CLI takes), plus its ``commit``."""
    from ckptgit.ops.show import full
    from ckptgit.repo import Repo

    return full(Repo.open(repo), ref)


class Tracker:
    """Saves of one training run: fills ``parent`` and ``step`` and repeats params and seeds.

    >>> run = Tracker("clf", params={"lr": 3e-4}, seeds={"torch": 42})
    >>> run.save("models/clf.safetensors", metrics={"loss": 0.4})        # step 0
    >>> run.save("models/clf.safetensors", metrics={"loss": 0.3})        # step 1, parent = first
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
        start_step: int = 0,
    ) -> None:
        from ckptgit.names import check_name

        self.name = check_name(name)
        self.params = dict(params or {})
        self.seeds = dict(seeds or {})
        self.data = list(data)
        self.labels = list(labels)
        self.repo = repo
        self.step = start_step
        self._last: str | Future[Checkpoint] | None = parent
        self.checkpoints: list[Checkpoint | Future[Checkpoint]] = []

    def save(
        self,
        path: str | os.PathLike[str],
        *,
        metrics: Mapping[str, Any] | None = None,
        step: int | None = None,
        note: str | None = None,
        background: bool = False,
        **kwargs: Any,
    ) -> Checkpoint | Future[Checkpoint]:
        step = self.step if step is None else step
        previous = self._last
        # Pinned now: a background save must record this call's values and paths, even if the
        # loop later updates its dicts or changes directory before the worker gets to it.
        cwd = Path.cwd()
        path = cwd / path
        options = copy.deepcopy(dict(metrics=metrics, params=self.params, seeds=self.seeds,
                                     data=[str(cwd / d) for d in self.data],
                                     labels=self.labels, step=step, note=note,
                                     repo=cwd / self.repo, **kwargs))
        result: Checkpoint | Future[Checkpoint]
        if background:
            # The parent is known only once the previous save lands; the single worker runs
            # saves in order, so resolving it there never blocks the training loop.
            result = _background().submit(self._save_after, path, previous, options)
        else:
            result = save(path, self.name, parent=_id_of(previous), **options)
        self._last = result if isinstance(result, Future) else result.id
        self.step = step + 1
        self.checkpoints.append(result)
        return result

    def _save_after(self, path: str | os.PathLike[str],
                    previous: str | Future[Checkpoint] | None,
                    options: dict[str, Any]) -> Checkpoint:
        ckpt = save(path, self.name, parent=_id_of(previous), **options)
        assert isinstance(ckpt, Checkpoint)  # noqa: S101 - background=False gives a Checkpoint
        return ckpt


def _id_of(previous: str | Future[Checkpoint] | None) -> str | None:
    if isinstance(previous, Future):
        return previous.result().id
    return previous
