"""``CheckpointCallback`` for PyTorch Lightning 2.x: every checkpoint file the Trainer writes.

    from ckptgit.integrations.lightning import CheckpointCallback

    trainer = pl.Trainer(callbacks=[ModelCheckpoint(dirpath="models/run"),
                                    CheckpointCallback("clf")])

The callback wraps the strategy's ``CheckpointIO`` for the fit, so whatever writes a checkpoint
(``ModelCheckpoint``'s top-k files and ``last.ckpt``, ``trainer.save_checkpoint``) is saved as a
checkpoint of NAME the moment the file is complete: step = global step, epoch = current epoch,
metrics = ``trainer.callback_metrics`` (what ``self.log`` logged), params = the module's
``hparams`` plus the Trainer's main settings, seeds = ``seed_everything``'s. Saves run in the
background and pin the file's bytes first, so ``last.ckpt`` rewritten every epoch and top-k files
deleted later are both recorded as they were. Fitting ends by waiting for the saves.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from lightning_fabric.plugins.io.checkpoint_io import CheckpointIO
from pytorch_lightning.plugins.io.async_plugin import AsyncCheckpointIO

from ckptgit.errors import UsageError
from ckptgit.integrations._common import Settings, plain_metrics, tracker


class _Recording(CheckpointIO):
    """The strategy's own CheckpointIO, told when a file is complete."""

    def __init__(self, inner: CheckpointIO, saved: Callable[[Path], None]) -> None:
        self.inner, self.saved = inner, saved

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any,
                        storage_options: Any | None = None) -> None:
        self.inner.save_checkpoint(checkpoint, path, storage_options=storage_options)
        self.saved(Path(os.fspath(path)))

    def load_checkpoint(self, path: Any, map_location: Any | None = None,
                        weights_only: bool | None = None) -> dict[str, Any]:
        return self.inner.load_checkpoint(path, map_location=map_location,
                                          weights_only=weights_only)

    def remove_checkpoint(self, path: Any) -> None:
        self.inner.remove_checkpoint(path)

    def teardown(self) -> None:
        self.inner.teardown()


class CheckpointCallback(pl.Callback, Settings):
    def __init__(self, name: str, *, repo: str = ".", data: Sequence[str] = (),
                 labels: Sequence[str] = (), params: Mapping[str, Any] | None = None,
                 snapshot: bool | None = None, wait_at_end: bool = True,
                 eval_data: Sequence[str] = ()) -> None:
        self.configure(name, repo, data, labels, params, snapshot, wait_at_end, eval_data)
        self._original: CheckpointIO | None = None

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if stage != "fit" or self._original is not None:
            return
        inner = trainer.strategy.checkpoint_io
        if isinstance(inner, AsyncCheckpointIO):
            raise UsageError("ckptgit's CheckpointCallback saves in the background already; "
                             "drop AsyncCheckpointIO (its files are not complete when it returns)")
        self._original = inner
        trainer.strategy.checkpoint_io = _Recording(inner, lambda p: self._saved(trainer, p))

    def teardown(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if stage == "fit" and self._original is not None:
            trainer.strategy.checkpoint_io = self._original
            self._original = None

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        settings = {"max_epochs": trainer.max_epochs, "max_steps": trainer.max_steps,
                    "accumulate_grad_batches": trainer.accumulate_grad_batches,
                    "gradient_clip_val": trainer.gradient_clip_val,
                    "precision": str(trainer.precision)}
        params = {**dict(pl_module.hparams), "trainer": settings, **self.extra_params}
        seed = os.environ.get("PL_GLOBAL_SEED")  # set by seed_everything
        seeds = {"lightning": int(seed)} if seed is not None and seed.lstrip("-").isdigit() \
            else {}
        self.run = tracker(self.name, params, seeds, self.options)

    def _saved(self, trainer: pl.Trainer, path: Path) -> None:
        if self.run is None:  # a checkpoint written outside fit
            return
        snapshot = self.snapshot
        if snapshot is None and path.name.startswith("last"):
            snapshot = True  # rewritten every epoch, maybe before a guarded read gets to it
        self.run.save(path, metrics=plain_metrics(trainer.callback_metrics),
                      step=trainer.global_step, epoch=float(trainer.current_epoch),
                      background=True, snapshot=snapshot)

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.run is not None and self.wait_at_end:
            self.run.wait()
