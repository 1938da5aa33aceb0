"""``CheckpointCallback`` for the Hugging Face ``Trainer``: every checkpoint it writes, saved.

    from ckptgit.integrations.transformers import CheckpointCallback

    trainer = Trainer(model, args, train_dataset=..., callbacks=[CheckpointCallback("bert")])

Each ``checkpoint-N`` folder the Trainer writes becomes a checkpoint of NAME (its step is the
global step, its epoch the Trainer's), with the ``TrainingArguments`` as params, the seeds they
set, and the last logged value of every metric (loss, learning rate, eval metrics) at that step.
Saves run in the background: the training step waits only while the folder's bytes are pinned
(see ``ckptgit.snapshot``). A folder that ``save_total_limit`` deletes afterwards keeps its
checkpoint in DVC (``git ckpt restore`` brings it back). Training ends by waiting for the saves;
a failed save raises from the next ``on_save`` or from ``train()`` itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

from ckptgit.integrations._common import Settings, latest_logs, tracker


class CheckpointCallback(TrainerCallback, Settings):
    def __init__(self, name: str, *, repo: str = ".", data: Sequence[str] = (),
                 labels: Sequence[str] = (), params: Mapping[str, Any] | None = None,
                 snapshot: bool | None = None, wait_at_end: bool = True,
                 eval_data: Sequence[str] = ()) -> None:
        self.configure(name, repo, data, labels, params, snapshot, wait_at_end, eval_data)

    def on_train_begin(self, args: TrainingArguments, state: TrainerState,
                       control: TrainerControl, **kwargs: Any) -> None:
        params = {**args.to_dict(), **self.extra_params}  # type: ignore[no-untyped-call]
        seeds = {"transformers": args.seed}
        if args.data_seed is not None:
            seeds["data"] = args.data_seed
        self.run = tracker(self.name, params, seeds, self.options)

    def on_save(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
                **kwargs: Any) -> None:
        if not state.is_world_process_zero or self.run is None:
            return
        folder = Path(args.output_dir or ".") / f"{PREFIX_CHECKPOINT_DIR}-{state.global_step}"
        metrics = latest_logs(state.log_history, state.global_step)
        self.run.save(folder, metrics=metrics, step=state.global_step, epoch=state.epoch,
                      background=True, snapshot=self.snapshot)

    def on_train_end(self, args: TrainingArguments, state: TrainerState,
                     control: TrainerControl, **kwargs: Any) -> None:
        if self.run is not None and self.wait_at_end:
            self.run.wait()
