"""Background saves record exactly the bytes at PATH when save() was called, or fail loudly.

Rolling checkpoints (one path rewritten in place), saves still queued at exit, failures that
must surface, the README's own example, and DVC's view of checkpoint metrics.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import Repo

import ckptgit
from ckptgit import Checkpoint

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.fixture
def inside(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> Repo:
    monkeypatch.chdir(repo.path)
    return repo


def _restored_sha(repo: Repo, ckpt_id: str, tmp: Path) -> str:
    out = tmp / ckpt_id
    repo.ckpt_ok("restore", ckpt_id, "--to", str(out))
    files = [p for p in out.rglob("*") if p.is_file()]
    assert len(files) == 1, files
    return hashlib.sha256(files[0].read_bytes()).hexdigest()


class Rewriter:
    """Rewrites one file in place every ``period`` seconds, as torch.save/save_file do.

    ``hold()`` stops it between two writes, so the test knows exactly what is on disk while
    it calls save(); the hostile part is that it starts again the moment save() returns.
    """

    def __init__(self, path: Path, size: int, period: float = 0.002) -> None:
        self.path, self.size, self.period = path, size, period
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.writes = 0
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self.stop.is_set():
            with self.lock:
                data = os.urandom(self.size)
                with open(self.path, "r+b" if self.path.exists() else "wb") as f:
                    f.write(data)  # same size, same inode: only the bytes change
                self.writes += 1
            time.sleep(self.period)

    def __enter__(self) -> Rewriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_bytes(os.urandom(self.size))
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


def _race(repo: Repo, size: int, snapshot: bool | None, saves: int = 8,
          ) -> tuple[list[tuple[Checkpoint, str]], list[BaseException]]:
    """save() at random moments while a loop rewrites the path; (landed, expected) and errors."""
    path = repo.path / "models" / "rolling.bin"
    run = ckptgit.Tracker("rolling")
    asked: list[tuple[object, str]] = []
    with Rewriter(path, size) as writer:
        for _ in range(saves):
            seen = writer.writes
            while writer.writes < seen + 2:  # new bytes since the previous save() call
                time.sleep(0.002)
            with writer.lock:  # between two writes: these bytes are what save() must record
                on_disk = hashlib.sha256(path.read_bytes()).hexdigest()
                try:
                    asked.append((run.save(path, background=True, snapshot=snapshot), on_disk))
                except ckptgit.IntegrityError:
                    # a Tracker raises an earlier background failure on its next call; that
                    # failure is also its own future's exception, counted below
                    continue
        for future, _ in asked:
            while not future.done():  # type: ignore[attr-defined]
                time.sleep(0.01)
        assert writer.writes > saves  # the file really kept changing under the saves
    landed, failed = [], []
    for future, expected in asked:
        exc = future.exception()  # type: ignore[attr-defined]
        if exc is None:
            landed.append((future.result(), expected))  # type: ignore[attr-defined]
        else:
            failed.append(exc)
    return landed, failed


def test_rolling_checkpoint_records_the_bytes_of_each_save_call(inside: Repo,
                                                              tmp_path: Path) -> None:
    landed, failed = _race(inside, 256 << 10, snapshot=None)
    assert not failed, failed  # a rolling path is copied when save() is called: all land
    assert len({sha for _, sha in landed}) == len(landed)  # each save saw different bytes
    for ckpt, expected in landed:
        assert ckpt.sha256 == expected
        assert _restored_sha(inside, ckpt.id, tmp_path) == expected
    assert [c.step for c, _ in landed] == list(range(len(landed)))


def test_guarded_read_fails_loudly_and_never_records_other_bytes(inside: Repo,
                                                                tmp_path: Path) -> None:
    landed, failed = _race(inside, 256 << 10, snapshot=False, saves=5)
    # Which saves fail depends on the scheduler; that none records other bytes does not.
    assert all(isinstance(e, ckptgit.IntegrityError) and "rewritten in place" in str(e)
               for e in failed), failed
    for ckpt, expected in landed:
        assert ckpt.sha256 == expected == _restored_sha(inside, ckpt.id, tmp_path)


def test_guarded_read_of_a_file_rewritten_before_the_worker_reads_it_fails(inside: Repo) -> None:
    """No clock: the commit lock holds the one worker on an earlier save while the test
    rewrites the guarded file in place; the queued save must refuse, not record new bytes."""
    from ckptgit import workfiles
    from ckptgit.git import Git

    inside.model()
    path = inside.path / "models" / "rolling.bin"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"epoch one" * 1000)
    with workfiles.commit_lock(Git.discover(inside.path)):
        first = ckptgit.save("models/clf.safetensors", "clf", background=True)
        guarded = ckptgit.save(path, "rolling", background=True, snapshot=False)
        with open(path, "r+b") as f:  # in place, same size, as torch.save on one path does
            f.write(b"epoch two" * 1000)
    assert first.result(timeout=120).name == "clf"
    with pytest.raises(ckptgit.IntegrityError, match="rewritten in place"):
        guarded.result(timeout=120)
    assert "rolling" not in inside.ckpt_ok("list", "--json").out


def test_guarded_file_deleted_or_replaced_after_save_call_still_lands(inside: Repo) -> None:
    path = inside.path / "models" / "epoch-1.bin"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"epoch one" * 1000)
    expected = hashlib.sha256(path.read_bytes()).hexdigest()
    gone = ckptgit.save(path, "run", background=True, snapshot=False)
    path.unlink()  # a Trainer's save_total_limit rotating the checkpoint away
    replaced = inside.path / "models" / "epoch-2.bin"
    replaced.write_bytes(b"epoch two" * 1000)
    second = ckptgit.save(replaced, "run", background=True, snapshot=False)
    tmp = replaced.with_suffix(".tmp")
    tmp.write_bytes(b"other bytes")
    os.replace(tmp, replaced)  # an atomic writer replacing the path
    assert gone.result(timeout=120).sha256 == expected
    assert second.result(timeout=120).sha256 == hashlib.sha256(b"epoch two" * 1000).hexdigest()


def test_a_failed_background_save_raises_on_the_next_call_and_at_close(inside: Repo) -> None:
    inside.model()
    outside = inside.path.parent / "elsewhere.bin"
    outside.write_bytes(b"x")
    run = ckptgit.Tracker("clf")
    bad = run.save(outside, background=True)
    while not bad.done():  # type: ignore[union-attr]
        time.sleep(0.01)
    with pytest.raises(ckptgit.UsageError, match="outside the repository"):
        run.save("models/clf.safetensors", background=True)
    good = run.save("models/clf.safetensors", background=True)  # reported once, then on
    assert good.result(timeout=60).parent is None  # type: ignore[union-attr]

    run = ckptgit.Tracker("clf")
    run.save(outside, background=True)
    with pytest.raises(ckptgit.UsageError, match="outside the repository"):
        run.close()
    with pytest.raises(ckptgit.UsageError, match="outside the repository"):
        with ckptgit.Tracker("clf") as run:
            run.save(outside, background=True)


def _script(repo: Repo, body: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", body], cwd=repo.path, capture_output=True,
                          text=True, timeout=300, check=False)


def test_saves_queued_at_exit_finish_or_are_reported(repo: Repo, tmp_path: Path) -> None:
    body = """
import os, ckptgit
os.makedirs("models", exist_ok=True)
run = ckptgit.Tracker("clf")
for epoch in range(3):
    with open("models/clf.bin", "wb") as f:
        f.write(os.urandom(1 << 20))
    run.save("models/clf.bin", metrics={"epoch": epoch}, background=True)
open("/dev/null").close()
ckptgit.save("../outside.bin", "other", background=True)
"""
    (repo.path.parent / "outside.bin").write_bytes(b"outside")
    done = _script(repo, body)
    assert done.returncode == 0, done.stderr
    assert "cannot schedule new futures" not in done.stderr
    assert "finishing" in done.stderr
    assert re.search(r"background save of other .* failed and was not recorded: .*outside",
                     done.stderr), done.stderr
    listed = repo.ckpt_ok("list", "--name", "clf", "--json").json()
    assert [c["metrics"] for c in listed] == [{"epoch": 2}, {"epoch": 1}, {"epoch": 0}]


def test_readme_example_runs_as_printed(repo: Repo, tmp_path: Path) -> None:
    text = README.read_text()
    block = re.search(r"From Python.*?```python\n(.*?)```", text, re.S)
    assert block is not None
    done = _script(repo, block.group(1))
    assert done.returncode == 0, done.stderr
    listed = repo.ckpt_ok("list", "--name", "clf", "--json").json()
    assert [c["artifact"]["path"] for c in listed] == [
        f"models/clf-{e}.safetensors" for e in (2, 1, 0)]
    assert [c["metrics"]["val_loss"] for c in listed] == [1 / 3, 0.5, 1.0]
    assert listed[0]["parent"] == listed[1]["id"] and listed[1]["parent"] == listed[2]["id"]
    for entry in listed:  # every epoch restorable, byte-identical to its file
        on_disk = hashlib.sha256((repo.path / entry["artifact"]["path"]).read_bytes())
        assert _restored_sha(repo, entry["id"], tmp_path) == on_disk.hexdigest()


def test_dvc_metrics_and_params_diff_see_checkpoints(repo: Repo) -> None:
    repo.model()
    repo.save("models/clf.safetensors", "clf", "--metric", "acc=0.8", "--param", "lr=0.1")
    repo.model(seed=1)
    repo.save("models/clf.safetensors", "clf", "--metric", "acc=0.9", "--param", "lr=0.05")
    dvc = str(Path(sys.executable).parent / "dvc")
    shown = subprocess.run([dvc, "metrics", "diff", "HEAD~1", "HEAD", "--json"],
                           cwd=repo.path, capture_output=True, text=True, check=True)
    diff = json.loads(shown.stdout)[".ckpt/metrics/clf.json"]
    assert diff["acc"] == {"old": 0.8, "new": 0.9, "diff": pytest.approx(0.1)}
    shown = subprocess.run([dvc, "params", "diff", "HEAD~1", "HEAD", "--json"],
                           cwd=repo.path, capture_output=True, text=True, check=True)
    assert json.loads(shown.stdout)[".ckpt/params/clf.yaml"]["lr"] == {
        "old": 0.1, "new": 0.05, "diff": pytest.approx(-0.05)}


def test_background_save_records_the_metrics_files_as_they_were_at_the_call(
        inside: Repo) -> None:
    live = inside.path / "dvclive"
    live.mkdir()
    run = ckptgit.Tracker("clf")
    futures = []
    for epoch in range(3):  # dvclive rewrites its files every step, maybe before the worker reads
        (live / "metrics.json").write_text(json.dumps({"step": epoch, "val_loss": 1 / (1 + epoch)}))
        (live / "params.yaml").write_text(f"lr: {0.1 * (epoch + 1)}\n")
        (inside.path / "hp.json").write_text(json.dumps({"epoch_seen": epoch}))
        inside.model(f"models/clf-{epoch}.safetensors", seed=epoch)
        futures.append(run.save(f"models/clf-{epoch}.safetensors", background=True))
    (live / "metrics.json").write_text('{"step": 99, "val_loss": 99}')
    (live / "params.yaml").write_text("lr: 99\n")
    landed = run.wait()
    assert [c.metrics for c in landed] == [{"val_loss": 1 / (1 + e)} for e in range(3)]
    assert [c.step for c in landed] == [0, 1, 2]
    assert [c.params["lr"] for c in landed] == pytest.approx([0.1, 0.2, 0.3])
    named = ckptgit.save("models/clf-0.safetensors", "clf", metrics="hp.json", background=True)
    (inside.path / "hp.json").write_text('{"epoch_seen": 99}')
    assert named.result(timeout=60).metrics == {"epoch_seen": 2}  # type: ignore[union-attr]


def test_guarded_directory_rotated_away_after_the_call_still_lands(inside: Repo,
                                                                  tmp_path: Path) -> None:
    import shutil

    folder = inside.path / "runs" / "checkpoint-2"
    folder.mkdir(parents=True)
    (folder / "model.bin").write_bytes(b"weights" * 500)
    (folder / "state.json").write_text('{"step": 2}')
    expected = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}
    future = ckptgit.save("runs/checkpoint-2", "run", background=True, snapshot=False)
    shutil.rmtree(folder)  # save_total_limit deleting it before the worker got to it
    ckpt = future.result(timeout=120)
    out = tmp_path / "back"
    inside.ckpt_ok("restore", ckpt.id, "--to", str(out))
    back = out / "checkpoint-2"
    assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in back.iterdir()} == expected
