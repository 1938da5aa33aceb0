"""Records stay true around the user's own git: a save killed after its commit can never be
reverted by a plain ``git commit``; a repository that used ``dvc add`` before adopting
ckptgit verifies; untracked files make the recorded code dirty."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import yaml
from conftest import Repo, git, git_project

MODEL = "models/clf.safetensors"
KILLED = 128 + 9  # git's exit status for a subcommand that died of SIGKILL


def killed_save(repo: Repo, point: str, seed: int) -> subprocess.CompletedProcess[str]:
    repo.model(seed=seed)
    env = {**os.environ, "CKPT_FAULT": point}
    return subprocess.run(["git", "ckpt", "save", MODEL, "-n", "clf", "-q"], cwd=repo.path,
                          env=env, capture_output=True, text=True, check=False)


def user_commit(repo: Repo, *args: str) -> subprocess.CompletedProcess[str]:
    (repo.path / "README.md").write_text("# edited by the user\n")
    repo.git("add", "README.md")
    return subprocess.run(["git", "commit", "-q", "-m", "user work", *args], cwd=repo.path,
                          capture_output=True, text=True, check=False)


def head_pointer(repo: Repo) -> str:
    return repo.git("show", f"HEAD:{MODEL}.dvc")


def test_a_plain_commit_cannot_revert_a_save_killed_after_its_commit(repo: Repo) -> None:
    repo.model()
    repo.save(MODEL, "clf")
    done = killed_save(repo, "committed", seed=1)  # branch moved, index never updated
    assert done.returncode == KILLED
    saved_pointer = head_pointer(repo)
    for how in ((), ("-a",)):
        refused = user_commit(repo, *how)
        assert refused.returncode == 1, refused
        assert "would revert a save" in refused.stderr
        assert "git ckpt fsck --repair" in refused.stderr
        assert head_pointer(repo) == saved_pointer
    repo.ckpt_ok("fsck", "--repair")
    ok = user_commit(repo)
    assert ok.returncode == 0, ok.stderr
    assert head_pointer(repo) == saved_pointer  # the save survived the user's commit
    assert repo.git("status", "--porcelain") == ""
    repo.ckpt_ok("verify", "--all")


def test_a_plain_commit_cannot_delete_a_first_save_killed_after_its_commit(repo: Repo) -> None:
    done = killed_save(repo, "committed", seed=1)  # the index never held these paths
    assert done.returncode == KILLED
    refused = user_commit(repo)
    assert refused.returncode == 1
    assert "removes checkpoint" in refused.stderr
    repo.ckpt_ok("fsck", "--repair")
    assert user_commit(repo).returncode == 0
    assert repo.git("ls-tree", "--name-only", "HEAD", f"{MODEL}.dvc").strip() == f"{MODEL}.dvc"


def test_an_older_save_left_stale_is_found_even_after_later_saves(repo: Repo) -> None:
    repo.model()
    repo.save(MODEL, "clf")
    assert killed_save(repo, "committed", seed=1).returncode == KILLED
    repo.model("models/other.safetensors", seed=3)
    repo.save("models/other.safetensors", "other")  # HEAD is now another save
    assert user_commit(repo).returncode == 1
    repo.ckpt_ok("fsck", "--repair")
    assert user_commit(repo).returncode == 0
    repo.ckpt_ok("verify", "--all")


def test_annotations_and_new_data_pointers_still_commit(repo: Repo) -> None:
    repo.model()
    repo.save(MODEL, "clf")
    side = repo.path / f"{MODEL}.ckpt.yaml"
    doc = yaml.safe_load(side.read_text())
    doc["notes"] = "reviewed"
    side.write_text(yaml.safe_dump(doc, sort_keys=False))
    (repo.path / "data").mkdir()
    (repo.path / "data" / "x.csv").write_text("1\n")
    subprocess.run(["dvc", "add", "-q", "data/x.csv"], cwd=repo.path, check=True)
    repo.git("add", f"{MODEL}.ckpt.yaml", "data/x.csv.dvc", "data/.gitignore")
    repo.git("commit", "-q", "-m", "notes and data")
    (repo.path / "data" / "x.csv").write_text("1\n2\n")
    subprocess.run(["dvc", "add", "-q", "data/x.csv"], cwd=repo.path, check=True)
    repo.git("commit", "-q", "-am", "more data")  # a data pointer no save wrote: allowed


def test_a_repo_that_used_dvc_add_before_adopting_verifies(tmp_path: Path) -> None:
    path = git_project(tmp_path, "adopter")
    subprocess.run(["dvc", "init", "-q"], cwd=path, check=True)
    repo = Repo(path, tmp_path / "store")
    repo.model(seed=0)
    subprocess.run(["dvc", "add", "-q", MODEL], cwd=path, check=True)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "model tracked with plain dvc")
    repo.model(seed=1)
    subprocess.run(["dvc", "add", "-q", MODEL], cwd=path, check=True)
    git(path, "commit", "-q", "-am", "retrained, still plain dvc")
    repo.ckpt_ok("init", "--remote", str(tmp_path / "store"))
    repo.model(seed=2)
    repo.save(MODEL, "clf")
    res = repo.ckpt("verify", "--all")
    assert res.code == 0, res.out + res.err
    # an edit after the first save is still caught
    pointer = path / f"{MODEL}.dvc"
    pointer.write_text(pointer.read_text().replace("size:", "size: 1 #"))
    git(path, "commit", "-q", "--no-verify", "-am", "hand edit after adoption")
    assert repo.ckpt("verify", "--all").code != 0


def test_untracked_files_make_the_code_record_dirty(repo: Repo) -> None:
    repo.model()
    clean = repo.save(MODEL, "clf")
    (repo.path / "train_v2.py").write_text("print('new trainer')\n")
    (repo.path / "scratch").mkdir()
    (repo.path / "scratch" / "notes.txt").write_text("x\n")
    repo.model(seed=1)
    dirty = repo.save(MODEL, "clf")
    docs = [yaml.safe_load(repo.git("show", f"{c['commit']}:{MODEL}.ckpt.yaml"))
            for c in (clean, dirty)]
    assert docs[0]["code"]["dirty"] is False
    assert docs[1]["code"]["dirty"] is True
    assert docs[1]["code"]["untracked"] == 2
    assert len(docs[1]["code"]["diff_sha256"]) == 64
    (repo.path / "train_v2.py").write_text("print('changed')\n")
    repo.model(seed=2)
    third = repo.save(MODEL, "clf")
    doc3 = yaml.safe_load(repo.git("show", f"{third['commit']}:{MODEL}.ckpt.yaml"))
    assert doc3["code"]["diff_sha256"] != docs[1]["code"]["diff_sha256"]  # content pinned
