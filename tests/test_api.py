"""The Python API: ``ckptgit.save``, ``ckptgit.load``, ``Tracker`` and background saves."""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import Future
from pathlib import Path

import numpy as np
import pytest
from conftest import Repo, write_model

import ckptgit
from ckptgit import Checkpoint

MODEL = "models/clf.safetensors"


@pytest.fixture
def inside(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> Repo:
    monkeypatch.chdir(repo.path)
    return repo


def test_save_returns_a_checkpoint_and_load_reads_it(inside: Repo) -> None:
    path = inside.model()
    (inside.path / "hp.json").write_text('{"lr": 0.1}')
    ckpt = ckptgit.save(MODEL, "clf", metrics={"acc": 0.9}, params="hp.json",
                        seeds={"numpy": 1}, step=0, note="api", labels=["x"])
    assert isinstance(ckpt, Checkpoint)
    assert ckpt.name == "clf" and ckpt.path == MODEL and ckpt.step == 0
    assert ckpt.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert ckpt.commit == inside.git("rev-parse", "HEAD").strip()
    assert ckpt.metrics == {"acc": 0.9} and ckpt.params == {"lr": 0.1}

    doc = ckptgit.load("clf")
    assert doc["id"] == ckpt.id and doc["commit"] == ckpt.commit
    assert doc["seeds"] == {"numpy": 1} and doc["notes"] == "api" and doc["labels"] == ["x"]
    assert doc["command"]  # the training script's command line is recorded
    assert ckptgit.load(ckpt.id[:6])["id"] == ckpt.id


def test_save_with_an_explicit_repo_from_elsewhere(repo: Repo, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    path = repo.model()
    monkeypatch.chdir(tmp_path)
    ckpt = ckptgit.save(path, "clf", repo=repo.path, metrics={"acc": 1})
    assert ckpt.path == MODEL
    assert ckptgit.load("clf", repo=repo.path)["metrics"] == {"acc": 1}


def test_api_errors_are_exceptions(inside: Repo) -> None:
    inside.model()
    with pytest.raises(ckptgit.UsageError, match="invalid checkpoint name"):
        ckptgit.save(MODEL, "Bad Name")
    with pytest.raises(ckptgit.RefError, match="unknown checkpoint reference"):
        ckptgit.load("nosuch")
    # a background save checks what it cheaply can before returning the future ...
    with pytest.raises(ckptgit.UsageError, match="invalid checkpoint name"):
        ckptgit.save(MODEL, "Bad Name", background=True)
    with pytest.raises(ckptgit.UsageError, match="no such file"):  # nothing to pin
        ckptgit.save("models/missing.safetensors", "clf", background=True)
    # ... and the rest surfaces from the future, not from some worker thread's log
    outside = write_model(inside.path.parent / "elsewhere.safetensors")
    fut = ckptgit.save(outside, "clf", background=True)
    with pytest.raises(ckptgit.UsageError, match="outside the repository"):
        fut.result(timeout=60)


def test_tracker_fills_parent_and_step(inside: Repo) -> None:
    inside.model()
    first = ckptgit.save(MODEL, "clf")
    run = ckptgit.Tracker("clf", params={"lr": 3e-4}, seeds={"torch": 42}, parent=first.id)
    saved = []
    for epoch in range(3):
        inside.model(seed=epoch + 1)
        saved.append(run.save(MODEL, metrics={"loss": 1 / (epoch + 1)}))
    assert [c.step for c in saved] == [0, 1, 2]
    assert [c.parent for c in saved] == [first.id, saved[0].id, saved[1].id]
    assert all(c.params == {"lr": 3e-4} for c in saved)
    assert ckptgit.load("clf")["seeds"] == {"torch": 42}
    explicit = run.save(MODEL, step=10)
    assert explicit.step == 10 and run.step == 11


def test_background_save_returns_a_future_at_once(inside: Repo) -> None:
    """The call returns before the save can finish: the test holds the commit lock every save
    takes, so the future cannot resolve until it lets go (no clock involved)."""
    from ckptgit import workfiles
    from ckptgit.git import Git

    big = np.random.default_rng(0).standard_normal(1 << 20, dtype=np.float32)  # 4 MiB
    path = write_model(inside.path / "models" / "big.safetensors", tensors={"w": big})
    expected = hashlib.sha256(path.read_bytes()).hexdigest()
    small = inside.model()
    with workfiles.commit_lock(Git.discover(inside.path)):
        fut = ckptgit.save("models/big.safetensors", "big", background=True)
        assert isinstance(fut, Future)
        queued = ckptgit.save(MODEL, "clf", background=True)  # lands after the first
        assert not fut.done() and not queued.done()
    ckpt = fut.result(timeout=120)
    assert isinstance(ckpt, Checkpoint) and ckpt.sha256 == expected
    second = queued.result(timeout=120)
    assert second.sha256 == hashlib.sha256(small.read_bytes()).hexdigest()
    log = inside.git("log", "--format=%H", "-2").split()
    assert log == [second.commit, ckpt.commit]


def test_tracker_background_saves_land_in_order(inside: Repo) -> None:
    for name in ("a", "b", "c"):
        inside.model(f"models/{name}.safetensors", seed=ord(name))
    inside.model()
    run = ckptgit.Tracker("clf", params={"lr": 0.1})
    live = {"i": 0}  # a training loop updating one dict in place
    futures = []
    for i in range(3):
        live["i"] = i
        futures.append(run.save(MODEL, metrics=live, background=True))
    live["i"] = 99
    others = [ckptgit.save(f"models/{n}.safetensors", n, background=True) for n in "abc"]
    os.chdir(inside.path / "models")  # the loop moves on; pending saves keep their paths
    done = [f.result(timeout=120) for f in futures]
    rest = [f.result(timeout=120) for f in others]
    assert [c.step for c in done] == [0, 1, 2]
    assert [c.parent for c in done] == [None, done[0].id, done[1].id]
    assert [c.metrics["i"] for c in done] == [0, 1, 2]
    order = inside.git("log", "--format=%H", "-6").split()[::-1]
    assert order == [c.commit for c in done + rest]
    assert [c["id"] for c in inside.ckpt_ok("list", "--name", "clf", "--json").json()] == \
        [c.id for c in reversed(done)]
