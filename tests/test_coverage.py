"""Metadata coverage: a model ``dvc add`` tracks without a sidecar is refused by pre-commit and
pre-receive, flagged by verify, and ``git ckpt adopt`` makes it a checkpoint."""

from __future__ import annotations

import subprocess
from pathlib import Path

from conftest import Repo, make_repo
from governance_fixtures import bare_remote, push


def _dvc_add(repo: Repo, rel: str) -> None:
    path = repo.path / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x01legacy weights" * 100)
    subprocess.run(["dvc", "add", "-q", rel], cwd=repo.path, check=True)
    parent = str(Path(rel).parent)
    repo.git("add", f"{rel}.dvc", f"{parent}/.gitignore")


def _commit(repo: Repo, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "commit", "-q", "-m", "legacy model", *extra], cwd=repo.path,
                          capture_output=True, text=True, check=False)


def test_uncovered_model_refused_flagged_and_adopted(repo: Repo) -> None:
    _dvc_add(repo, "models/legacy.pt")
    done = _commit(repo)
    assert done.returncode == 1
    assert "models/legacy.pt is a model tracked by DVC without a checkpoint sidecar" in \
        done.stderr and "git ckpt adopt models/legacy.pt -n NAME" in done.stderr
    assert _commit(repo, "--no-verify").returncode == 0
    res = repo.ckpt("verify", "--json")
    assert res.code == 3 and "models/legacy.pt is a model tracked by DVC" in res.out
    adopted = repo.ckpt_ok("adopt", "models/legacy.pt", "-n", "legacy", "--json").json()
    assert adopted["labels"] == ["adopted"]
    assert repo.ckpt("verify").code == 0
    assert [c["name"] for c in repo.ckpt_ok("list", "--json").json()] == ["legacy"]


def test_data_files_are_not_models(repo: Repo) -> None:
    _dvc_add(repo, "data/train.csv")
    assert _commit(repo).returncode == 0


def test_pre_receive_refuses_an_uncovered_model(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    bare_remote(repo, tmp_path)
    done = push(repo, "HEAD:main")
    assert done.returncode == 0, done.stderr
    _dvc_add(repo, "models/legacy.onnx")
    assert _commit(repo, "--no-verify").returncode == 0
    subprocess.run(["dvc", "push", "-q"], cwd=repo.path, check=True)
    done = subprocess.run(["git", "push", "--no-verify", "origin", "HEAD:main"], cwd=repo.path,
                          capture_output=True, text=True, check=False)
    assert done.returncode != 0
    assert "models/legacy.onnx is a model tracked by DVC without a checkpoint sidecar" in \
        done.stderr
