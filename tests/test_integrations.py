"""The Trainer and Lightning callbacks, with real libraries training tiny models on the CPU.

Every checkpoint the trainer writes is saved (in the background), restorable byte-identical to
what was on disk when the trainer finished writing it, even once rotation has deleted it or
``last.ckpt`` has been rewritten, with the metrics the trainer logged at that step.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from conftest import Repo

torch = pytest.importorskip("torch")


@pytest.fixture
def inside(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> Repo:
    monkeypatch.chdir(repo.path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # nothing is downloaded: models are built here
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "false")
    torch.set_num_threads(1)
    return repo


def _hashes(path: Path) -> dict[str, str]:
    if path.is_file():
        return {"": hashlib.sha256(path.read_bytes()).hexdigest()}
    return {p.relative_to(path).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file()}


def _restored(repo: Repo, ckpt_id: str, tmp: Path) -> dict[str, str]:
    out = tmp / ckpt_id
    repo.ckpt_ok("restore", ckpt_id, "--to", str(out))
    (only,) = list(out.iterdir())
    return _hashes(only)


# -- Hugging Face Trainer ------------------------------------------------------------------------
def test_trainer_callback_saves_every_checkpoint_dir(inside: Repo, tmp_path: Path) -> None:
    from transformers import (
        BertConfig,
        BertForSequenceClassification,
        Trainer,
        TrainerCallback,
        TrainingArguments,
    )

    from ckptgit.integrations.transformers import CheckpointCallback

    class Witness(TrainerCallback):  # type: ignore[misc]
        """Runs after ours: what each checkpoint folder held when on_save was called."""

        def __init__(self) -> None:
            self.seen: dict[int, dict[str, str]] = {}

        def on_save(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            self.seen[state.global_step] = _hashes(folder)

    torch.manual_seed(0)
    config = BertConfig(vocab_size=64, hidden_size=32, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=37,
                        max_position_embeddings=16, num_labels=2)
    model = BertForSequenceClassification(config)
    gen = torch.Generator().manual_seed(1)
    rows = [{"input_ids": torch.randint(0, 64, (8,), generator=gen),
             "attention_mask": torch.ones(8, dtype=torch.long),
             "labels": torch.tensor(i % 2)} for i in range(16)]
    args = TrainingArguments(
        output_dir="runs/bert", max_steps=6, save_steps=2, save_total_limit=1,
        eval_strategy="steps", eval_steps=2, logging_steps=1, per_device_train_batch_size=4,
        learning_rate=1e-3, seed=7, report_to=[], use_cpu=True, save_strategy="steps",
        dataloader_num_workers=0)
    witness = Witness()
    trainer = Trainer(model=model, args=args, train_dataset=rows, eval_dataset=rows[:4],
                      callbacks=[CheckpointCallback("bert"), witness])
    trainer.train()

    listed = list(reversed(inside.ckpt_ok("list", "--name", "bert", "--json").json()))
    assert [c["step"] for c in listed] == [2, 4, 6]
    assert [c["artifact"]["path"] for c in listed] == [
        f"runs/bert/checkpoint-{s}" for s in (2, 4, 6)]
    assert not (inside.path / "runs/bert/checkpoint-2").exists()  # rotated away ...
    history = trainer.state.log_history
    for entry in listed:
        step = entry["step"]
        # ... yet restorable, byte for byte as the Trainer wrote it
        assert _restored(inside, entry["id"], tmp_path) == witness.seen[step]
        logged = [h for h in history if h.get("step") == step]
        assert entry["metrics"]["loss"] == next(h["loss"] for h in logged if "loss" in h)
        assert entry["metrics"]["eval_loss"] == next(h["eval_loss"] for h in logged
                                                     if "eval_loss" in h)
        assert "step" not in entry["metrics"] and "epoch" not in entry["metrics"]
    doc = inside.ckpt_ok("show", listed[-1]["id"], "--json").json()
    assert doc["seeds"] == {"transformers": 7}
    assert doc["params"]["learning_rate"] == 1e-3 and doc["params"]["save_total_limit"] == 1
    assert doc["epoch"] == trainer.state.epoch
    assert doc["parent"] == listed[-2]["id"]


# -- PyTorch Lightning ---------------------------------------------------------------------------
def test_lightning_callback_saves_topk_and_rolling_last(inside: Repo, tmp_path: Path) -> None:
    import pytorch_lightning as pl
    from lightning_fabric.plugins.io.torch_io import TorchCheckpointIO
    from pytorch_lightning.callbacks import ModelCheckpoint
    from torch.utils.data import DataLoader, TensorDataset

    from ckptgit.integrations.lightning import CheckpointCallback

    class Tiny(pl.LightningModule):
        def __init__(self, lr: float = 0.05) -> None:
            super().__init__()
            self.save_hyperparameters()
            self.layer = torch.nn.Linear(4, 1)
            self.logged: dict[int, float] = {}

        def training_step(self, batch: Any, _: int) -> Any:
            x, y = batch
            loss = torch.nn.functional.mse_loss(self.layer(x), y)
            self.log("train_loss", loss)
            return loss

        def validation_step(self, batch: Any, _: int) -> None:
            x, y = batch
            loss = torch.nn.functional.mse_loss(self.layer(x), y)
            self.log("val_loss", loss)

        def on_validation_epoch_end(self) -> None:
            self.logged[self.trainer.global_step] = float(
                self.trainer.callback_metrics["val_loss"])

        def configure_optimizers(self) -> Any:
            return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)

    class WitnessIO(TorchCheckpointIO):  # type: ignore[misc]
        """Hashes every file the moment the trainer has written it (ours wraps this)."""

        def __init__(self) -> None:
            self.seen: list[tuple[str, str]] = []

        def save_checkpoint(self, checkpoint: Any, path: Any, storage_options: Any = None
                            ) -> None:
            super().save_checkpoint(checkpoint, path, storage_options)
            self.seen.append((str(Path(path).relative_to(inside.path)),
                              hashlib.sha256(Path(path).read_bytes()).hexdigest()))

    pl.seed_everything(3)
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(32, 4, generator=gen)
    data = TensorDataset(x, x.sum(dim=1, keepdim=True))
    witness = WitnessIO()
    module = Tiny()
    trainer = pl.Trainer(
        max_epochs=3, accelerator="cpu", logger=False, enable_progress_bar=False,
        enable_model_summary=False, plugins=[witness],
        callbacks=[ModelCheckpoint(dirpath="models/tiny", monitor="val_loss", save_top_k=1,
                                   save_last=True), CheckpointCallback("tiny")])
    trainer.fit(module, DataLoader(data, batch_size=8), DataLoader(data, batch_size=16))

    listed = list(reversed(inside.ckpt_ok("list", "--name", "tiny", "--json").json()))
    assert [(c["artifact"]["path"]) for c in listed] == [path for path, _ in witness.seen]
    assert sum(p.endswith("last.ckpt") for p, _ in witness.seen) == 3  # rewritten each epoch
    for entry, (_, expected) in zip(listed, witness.seen, strict=True):
        assert _restored(inside, entry["id"], tmp_path) == {"": expected}
        assert entry["metrics"]["val_loss"] == pytest.approx(module.logged[entry["step"]])
    assert [c["step"] for c in listed][::2] == [4, 8, 12]
    doc = inside.ckpt_ok("show", listed[-1]["id"], "--json").json()
    assert doc["seeds"] == {"lightning": 3}
    assert doc["params"]["lr"] == 0.05 and doc["params"]["trainer"]["max_epochs"] == 3
