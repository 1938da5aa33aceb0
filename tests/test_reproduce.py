"""``git ckpt reproduce`` on a real saved checkpoint with a DVC-tracked data input."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

from conftest import Repo


def test_worktree_with_recorded_data(repo: Repo, tmp_path: Path) -> None:
    data = repo.path / "data" / "train.csv"
    data.parent.mkdir()
    data.write_text("x,y\n1,2\n")
    subprocess.run(["dvc", "add", "-q", "data/train.csv"], cwd=repo.path, check=True)
    repo.git("add", "data/train.csv.dvc", "data/.gitignore")
    repo.git("commit", "-q", "-m", "data v1")
    repo.model(seed=1)
    saved = repo.save("models/clf.safetensors", "clf", "--data", "data/train.csv",
                      "--seed", "numpy=7", "--param", "lr=0.01", "--metric", "acc=0.9", "--push")
    subprocess.run(["dvc", "push", "-q"], cwd=repo.path, check=True)
    recorded = repo.ckpt_ok("show", saved["id"], "--json").json()
    data.write_text("x,y\n3,4\n")  # the data moves on after the save
    subprocess.run(["dvc", "add", "-q", "data/train.csv"], cwd=repo.path, check=True)
    repo.git("commit", "-q", "-am", "data v2")

    out = tmp_path / "rerun"
    repo.ckpt_ok("reproduce", saved["id"], "--dir", str(out))
    assert repo.git("-C", str(out), "rev-parse", "HEAD").strip() == recorded["code"]["commit"]
    got = hashlib.md5((out / "data/train.csv").read_bytes()).hexdigest()  # noqa: S324
    assert got == recorded["data"][0]["md5"]
    assert "numpy" in json.loads((out / ".ckpt-reproduce/seeds.json").read_text())
    reqs = (out / ".ckpt-reproduce/requirements.txt").read_text()
    assert "click==" in reqs
    assert "lr: 0.01" in (out / ".ckpt-reproduce/params.yaml").read_text()
    assert "git ckpt save" in (out / "reproduce.sh").read_text()

    rerun = tmp_path / "metrics.json"
    rerun.write_text(json.dumps({"acc": 0.9000001}))
    assert repo.ckpt("reproduce", saved["id"], "--check", str(rerun)).code == 0
    rerun.write_text(json.dumps({"acc": 0.8}))
    res = repo.ckpt("reproduce", saved["id"], "--check", str(rerun))
    assert res.code == 1 and "acc: 0.8 differs from the recorded 0.9" in res.out
