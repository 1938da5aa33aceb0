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
    res = repo.ckpt("reproduce", saved["id"], "--check", str(rerun), "--json")
    assert res.code == 1 and res.json()["differences"] == [
        "acc: 0.8 differs from the recorded 0.9 (rtol 0.001, atol 1e-06)"]
    again = repo.ckpt_ok("reproduce", saved["id"], "--dir", str(tmp_path / "r2"), "--json")
    prepared = again.json()["prepared"]
    assert prepared["commit"] == recorded["code"]["commit"] and prepared["data"]


def _tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.md5(p.read_bytes()).hexdigest()  # noqa: S324
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_directory_input_checked_file_by_file(repo: Repo, tmp_path: Path) -> None:
    from ckptgit.model import DataInput
    from ckptgit.ops.reproduce import data_problems

    imgs = repo.path / "data" / "imgs"
    (imgs / "cats").mkdir(parents=True)
    (imgs / "a.txt").write_text("alpha\n")
    (imgs / "cats" / "b.txt").write_text("beta\n")
    subprocess.run(["dvc", "add", "-q", "data/imgs"], cwd=repo.path, check=True)
    repo.git("add", "data/imgs.dvc", "data/.gitignore")
    repo.git("commit", "-q", "-m", "images v1")
    recorded_tree = _tree(imgs)
    repo.model(seed=1)
    saved = repo.save("models/clf.safetensors", "clf", "--data", "data/imgs", "--push")
    subprocess.run(["dvc", "push", "-q"], cwd=repo.path, check=True)
    (imgs / "cats" / "b.txt").write_text("beta, relabelled\n")  # the data moves on
    (imgs / "c.txt").write_text("gamma\n")
    subprocess.run(["dvc", "add", "-q", "data/imgs"], cwd=repo.path, check=True)
    repo.git("commit", "-q", "-am", "images v2")

    out = tmp_path / "rerun"
    repo.ckpt_ok("reproduce", saved["id"], "--dir", str(out))
    assert _tree(out / "data/imgs") == recorded_tree
    shown = repo.ckpt_ok("show", saved["id"], "--json").json()["data"]
    assert shown[0]["md5"].endswith(".dir")
    inputs = tuple(DataInput.from_doc(d) for d in shown)
    assert data_problems(repo.path, out, inputs) == []

    (out / "data/imgs/cats/b.txt").write_text("tampered\n")
    (out / "data/imgs/a.txt").unlink()
    (out / "data/imgs/extra.txt").write_text("unrecorded\n")
    problems = data_problems(repo.path, out, inputs)
    assert problems[0].startswith("data/imgs/a.txt: missing (recorded md5 ")
    assert problems[1] == "data/imgs/extra.txt: not in the recorded manifest"
    assert problems[2].startswith("data/imgs/cats/b.txt: md5 ")
    assert len(problems) == 3
