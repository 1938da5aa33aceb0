"""Training integrations: what a training loop waits for, and what the callbacks cost a run.

- ``save(background=True)`` of a 1 GiB file at its own new path: the call must return in
  ≤ 50 ms (the bytes are guarded in place, read by the worker).
- a rolling path (one file rewritten in place every epoch) must be pinned by a private copy
  when ``save()`` is called: that copy against a plain ``cp`` of the same file (≤ 1.1×), with
  the other options measured beside it (guard, hash+copy in one pass, reflink when the
  filesystem has it).
- a short Trainer run and a short Lightning run, same seed, with and without the callback:
  the slowdown, and where it goes (time blocked in the save calls, the wait at the end).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
from pathlib import Path
from typing import Any

import common
from common import GiB, MiB, Sandbox

_FRESH_PATH_SCRIPT = """
import json, os, sys, time
import ckptgit
save = ckptgit.save  # a training script names the API before its loop (imports it)
src, rounds = sys.argv[1], int(sys.argv[2])
calls, totals = [], []
for i in range(rounds):
    path = f"models/epoch-{i}.bin"
    os.replace(src, path)  # a new file at its own path, as a per-epoch writer leaves it
    with open(path, "r+b") as fh:
        fh.write(i.to_bytes(8, "little") + os.urandom(8))
    os.sync()
    start = time.perf_counter()
    future = save(path, "bg", background=True, metrics={"round": i})
    calls.append(time.perf_counter() - start)
    future.result()
    totals.append(time.perf_counter() - start)
    src = path
print(json.dumps({"calls": calls, "totals": totals}))
"""

_PIN_SCRIPT = """
import json, os, sys, time
from pathlib import Path
from ckptgit import hashing, snapshot, storage
root, path, mode = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
os.sync()
start = time.perf_counter()
if mode == "hash+copy":
    dst = storage.staging_dir(root) / "bench-hash-copy"
    hashing.stream(path, dst, md5=True)
else:
    pin = snapshot.pin(lambda: root, path, mode)
took = time.perf_counter() - start
if mode == "hash+copy":
    dst.unlink()
else:
    pin.release()
print(json.dumps({"seconds": took}))
"""

_TRAIN_SCRIPT = """
import json, os, sys, time
os.environ["HF_HUB_OFFLINE"] = "1"
kind, with_cb, steps = sys.argv[1], sys.argv[2] == "1", int(sys.argv[3])
import torch
torch.set_num_threads(1)
blocked = []

def timed(fn):
    def wrapper(*a, **k):
        t = time.perf_counter()
        try:
            return fn(*a, **k)
        finally:
            blocked.append(time.perf_counter() - t)
    return wrapper

if kind == "trainer":
    from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments
    torch.manual_seed(0)
    config = BertConfig(vocab_size=1000, hidden_size=128, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=256,
                        max_position_embeddings=64, num_labels=2)
    model = BertForSequenceClassification(config)
    gen = torch.Generator().manual_seed(1)
    rows = [{"input_ids": torch.randint(0, 1000, (32,), generator=gen),
             "attention_mask": torch.ones(32, dtype=torch.long),
             "labels": torch.tensor(i % 2)} for i in range(64)]
    args = TrainingArguments(output_dir="runs/bert", max_steps=steps, save_steps=steps // 4,
                             save_total_limit=2, logging_steps=5, per_device_train_batch_size=8,
                             seed=7, report_to=[], use_cpu=True, dataloader_num_workers=0)
    callbacks = []
    if with_cb:
        from ckptgit.integrations.transformers import CheckpointCallback
        cb = CheckpointCallback("bert")
        cb.on_save = timed(cb.on_save)
        callbacks.append(cb)
    trainer = Trainer(model=model, args=args, train_dataset=rows, callbacks=callbacks)
    end_wait = [0.0]
    if with_cb:
        inner_end = cb.on_train_end
        def on_end(*a, **k):
            t = time.perf_counter(); inner_end(*a, **k); end_wait[0] = time.perf_counter() - t
        cb.on_train_end = on_end
    start = time.perf_counter()
    trainer.train()
else:
    import pytorch_lightning as pl
    from pytorch_lightning.callbacks import ModelCheckpoint
    from torch.utils.data import DataLoader, TensorDataset

    class Net(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = torch.nn.Sequential(torch.nn.Linear(256, 512), torch.nn.ReLU(),
                                           torch.nn.Linear(512, 256))
        def training_step(self, batch, _):
            x, y = batch
            loss = torch.nn.functional.mse_loss(self.net(x), y)
            self.log("train_loss", loss)
            return loss
        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.01)

    pl.seed_everything(3)
    x = torch.randn(512, 256, generator=torch.Generator().manual_seed(3))
    callbacks = [ModelCheckpoint(dirpath="models/net", save_top_k=-1, every_n_epochs=1,
                                 save_last=True)]
    end_wait = [0.0]
    if with_cb:
        from ckptgit.integrations.lightning import CheckpointCallback
        cb = CheckpointCallback("net")
        inner_saved = cb._saved
        cb._saved = timed(inner_saved)
        inner_end = cb.on_fit_end
        def on_end(*a, **k):
            t = time.perf_counter(); inner_end(*a, **k); end_wait[0] = time.perf_counter() - t
        cb.on_fit_end = on_end
        callbacks.append(cb)
    trainer = pl.Trainer(max_epochs=steps, accelerator="cpu", logger=False,
                         enable_progress_bar=False, enable_model_summary=False,
                         callbacks=callbacks)
    start = time.perf_counter()
    trainer.fit(Net(), DataLoader(TensorDataset(x, x), batch_size=32))
total = time.perf_counter() - start
print(json.dumps({"total": total, "blocked": blocked, "end_wait": end_wait[0]}))
"""


def run(quick: bool) -> list[dict[str, Any]]:
    size, rounds = (64 * MiB, 3) if quick else (GiB, 5)
    label = f"{size // MiB} MiB" if size < GiB else f"{size // GiB} GiB"
    rows = []
    with common.sandbox("training") as box:
        rows.append(_fresh_path_row(box, size, rounds, label))
        rows += _rolling_rows(box, size, 3 if quick else 7, label)
        for kind in ("trainer", "lightning"):
            rows.append(_callback_row(box, kind, quick))
    if quick:
        for r in rows[:3]:
            r["passed"] = None
            r["note"] = (r.get("note", "") + "; targets apply at 1 GiB (full run)").lstrip("; ")
    return rows


def _fresh_path_row(box: Sandbox, size: int, rounds: int, label: str) -> dict[str, Any]:
    repo = box.ckpt_repo("fresh")
    src = common.write_random(repo / "models" / "written.bin", size)
    common.settle()
    done = box.sh([sys.executable, "-c", _FRESH_PATH_SCRIPT, str(src), str(rounds)], repo)
    result = json.loads(done.stdout)
    calls, totals = result["calls"], result["totals"]
    return common.row(
        f"save(background=True) {label}, own path: call returns", max(calls),
        statistics.median(totals), baseline_name="until saved", max_seconds=0.05,
        note=f"worst of {rounds} calls, a fresh process (the first call imports); median "
             f"call {statistics.median(calls) * 1000:.1f} ms; guarded read in place")


def _rolling_rows(box: Sandbox, size: int, rounds: int, label: str) -> list[dict[str, Any]]:
    """Pinning a rolling path when save() is called, each option against ``cp``."""
    repo = box.ckpt_repo("rolling")
    target = common.write_random(repo / "models" / "last.bin", size)
    other = repo / "models" / "cp-copy.bin"
    cp = shutil.which("cp") or "cp"

    def pin(mode: str) -> float:
        done = box.sh([sys.executable, "-c", _PIN_SCRIPT, str(repo), str(target), mode], repo)
        return float(json.loads(done.stdout)["seconds"])

    def copy_with_cp() -> float:
        common.settle()
        return common.timed(lambda: box.sh([cp, str(target), str(other)]))

    times: dict[str, list[float]] = {"cp": [], "copy": [], "guard": [], "hash+copy": []}
    for i in range(rounds):
        common.perturb(target, i)
        other.unlink(missing_ok=True)
        order = ["cp", "copy"] if i % 2 == 0 else ["copy", "cp"]  # neither always goes first
        for mode in [*order, "guard", "hash+copy"]:
            if mode == "cp":
                times["cp"].append(copy_with_cp())
                continue
            common.settle()
            times[mode].append(pin(mode))
    med = {k: common.median(v) for k, v in times.items()}
    reflink = "no reflinks on this filesystem" if not _has_reflink(repo) else "reflink"
    note = (f"median of {rounds}, warm page cache, sync before each, cp and copy alternate "
            f"going first; both are one copy_file_range after a failed FICLONE; {reflink}")
    samples = {k: [round(x, 3) for x in v] for k, v in times.items()}
    copy_row = common.row(f"rolling {label}: save() pins a private copy vs cp", med["copy"],
                          med["cp"], baseline_name="cp", max_ratio=1.1, note=note,
                          samples=samples)
    # Judged by the median of each round's own ratio: the two copies of one round run seconds
    # apart, so load from elsewhere on a shared machine moves both alike.
    paired = statistics.median(c / b for c, b in zip(times["copy"], times["cp"], strict=True))
    copy_row.update(ratio=paired, passed=paired <= 1.1)
    copy_row["note"] += (f"; ratio = median of per-round ratios (of medians: "
                         f"{med['copy'] / med['cp']:.2f}×)")
    return [
        copy_row,
        common.row(f"rolling {label}: option hash+copy in one pass vs cp", med["hash+copy"],
                   med["cp"], baseline_name="cp",
                   note="not chosen: md5 makes the training loop wait for the hashing"),
        common.row(f"rolling {label}: option guarded read (call only) vs cp", med["guard"],
                   med["cp"], baseline_name="cp",
                   note="fails the save if the loop rewrites before the worker reads"),
    ]


def _has_reflink(repo: Path) -> bool:
    import fcntl

    a, b = repo / ".reflink-a", repo / ".reflink-b"
    a.write_bytes(b"x" * 4096)
    try:
        with open(a, "rb") as src, open(b, "wb") as dst:
            fcntl.ioctl(dst.fileno(), 0x40049409, src.fileno())
        return True
    except OSError:
        return False
    finally:
        a.unlink(missing_ok=True)
        b.unlink(missing_ok=True)


def _callback_row(box: Sandbox, kind: str, quick: bool) -> dict[str, Any]:
    try:
        import pytorch_lightning  # noqa: F401
        import transformers  # noqa: F401
    except ImportError as exc:
        return common.na(f"{kind} run with callback", f"not installed: {exc}")
    steps = (20 if quick else 60) if kind == "trainer" else (4 if quick else 8)
    results = {}
    for with_cb in ("0", "1"):
        repo = box.ckpt_repo(f"{kind}-{with_cb}")
        done = box.sh([sys.executable, "-c", _TRAIN_SCRIPT, kind, with_cb, str(steps)], repo,
                      env={"HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"},
                      timeout=1800)
        results[with_cb] = json.loads(done.stdout.decode().strip().splitlines()[-1])
    base, ours = results["0"], results["1"]
    blocked = ours["blocked"]
    unit = "steps" if kind == "trainer" else "epochs"
    note = (f"{steps} {unit}, {len(blocked)} saves: blocked in save calls "
            f"{sum(blocked) * 1000:.0f} ms total (worst {max(blocked, default=0) * 1000:.0f} ms), "
            f"waiting for the saves at the end {ours['end_wait']:.2f} s, the rest is the "
            f"worker's hashing, storing and commits competing for the CPU")
    return common.row(f"{kind} run with CheckpointCallback vs without", ours["total"],
                      base["total"], baseline_name="same run, no callback", note=note)


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    common.main(run)
