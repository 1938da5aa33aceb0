"""``git ckpt fsck``: a real ``git ckpt save`` process killed with SIGKILL at several points."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
from conftest import Repo


def _killed_save(repo: Repo, point: str) -> None:
    """The real ``git ckpt save``, SIGKILLed by itself at fault point ``point``
    (``ckptgit/faults.py``): the same step every run, no guessed delay."""
    # git-ckpt itself, not through git: git reports a killed child as exit 137
    done = subprocess.run(["git-ckpt", "save", "models/clf.safetensors", "--name", "clf",
                           "--metric", "acc=0.5"], cwd=repo.path, capture_output=True,
                          text=True, check=False, env={**os.environ, "CKPT_FAULT": point})
    assert done.returncode == -signal.SIGKILL, done.stderr


@pytest.fixture
def first(repo: Repo) -> dict:
    repo.model(seed=1)
    saved = repo.save("models/clf.safetensors", "clf", "--push")
    repo.model(seed=2)  # the next epoch, about to be saved
    return saved


def _kinds(repo: Repo, *args: str) -> list[str]:
    return [p["kind"] for p in repo.ckpt("fsck", "--json", *args).json()]


def _age_cache(repo: Repo) -> None:
    """Pretend the leftovers are an hour old, as they are when someone finally looks."""
    old = time.time() - 3600
    for p in (repo.path / ".dvc" / "cache").rglob("*"):
        os.utime(p, (old, old))


def test_clean_repo_has_no_problems(repo: Repo, first: dict) -> None:
    res = repo.ckpt("fsck")
    assert res.code == 0 and res.out == "" and "no problems" in res.err


def test_killed_while_copying_leaves_a_temp_file(repo: Repo, first: dict) -> None:
    _killed_save(repo, "copying")
    assert "tmp" in _kinds(repo)
    assert [c["id"] for c in repo.ckpt("list", "--json").json()] == [first["id"]]
    _check_repaired(repo, first, save_again=True)


def test_killed_before_the_commit_leaves_an_orphan(repo: Repo, first: dict) -> None:
    _killed_save(repo, "stored")
    res = repo.ckpt("fsck")
    assert res.code == 1 and "orphan: cache object" in res.out and "recent" in res.out
    assert [c["id"] for c in repo.ckpt("list", "--json").json()] == [first["id"]]
    _age_cache(repo)
    _check_repaired(repo, first, save_again=True)


@pytest.mark.parametrize("point", ["committed", "staged"])
def test_killed_after_the_commit(repo: Repo, first: dict, point: str) -> None:
    _killed_save(repo, point)
    kinds = _kinds(repo, "--offline")
    assert "worktree" in kinds and "unpushed" not in kinds
    # Every checkpoint is intact (the work tree holds the new save's bytes under the old
    # pointer): verify passes, and the stale work-tree files are fsck's finding above.
    assert repo.ckpt("verify", "--all").code == 0
    _check_repaired(repo, first)
    listed = repo.ckpt("list", "--json").json()
    assert len(listed) == 2 and listed[1]["id"] == first["id"]  # the new save landed whole
    assert repo.git("status", "--porcelain", "--", "models") == ""


def _check_repaired(repo: Repo, first: dict, save_again: bool = False) -> None:
    """After --repair nothing is left; once the interrupted save is run again (when it never
    committed), everything verifies and the earlier checkpoint is still there."""
    repo.ckpt("fsck", "--repair")
    if save_again:
        assert _kinds(repo) == []
        repo.save()
    left = [p for p in repo.ckpt("fsck", "--json").json() if p["kind"] != "unpushed"]
    assert left == [], left
    res = repo.ckpt("verify", "--all")
    assert res.code == 0, res.out
    assert first["id"] in {c["id"] for c in repo.ckpt("list", "--json").json()}


def test_repair_pushes_what_the_remote_lacks(repo: Repo, first: dict) -> None:
    second = repo.save()
    kinds = repo.ckpt("fsck", "--json").json()
    assert [p["kind"] for p in kinds] == ["unpushed"] and second["id"][:8] in kinds[0]["message"]
    repo.ckpt("fsck", "--repair")
    assert repo.ckpt("fsck").code == 0


def test_lost_bytes_come_back_from_the_work_tree(repo: Repo, first: dict) -> None:
    second = repo.save()
    from ckptgit import storage

    storage.object_path(repo.path, second["artifact"]["md5"]).unlink()
    res = repo.ckpt("fsck", "--offline")
    assert "lost: bytes of clf" in res.out
    repo.ckpt("fsck", "--repair", "--offline")
    assert repo.ckpt("verify", "--all", "--offline").code == 0


def test_stale_git_lock_and_index(repo: Repo, first: dict) -> None:
    (repo.path / ".git" / "index.lock").write_bytes(b"")
    index = repo.path / ".git" / "ckpt" / "index-v1.json"
    index.write_text(index.read_text().replace(first["id"], "0" * 16))
    assert sorted(_kinds(repo, "--offline")) == ["index", "lock"]
    repo.ckpt("fsck", "--repair", "--offline")
    assert _kinds(repo, "--offline") == []
    assert repo.ckpt("list", "--json").json()[0]["id"] == first["id"]


def test_killed_at_every_point_in_a_row_then_repaired(repo: Repo) -> None:
    """Interrupted saves pile up (a training job restarted after each crash); one repair and
    the next save leave a repository where everything verifies."""
    repo.model(seed=1)
    first = repo.save()
    for n, point in enumerate(("copying", "stored", "committed", "staged")):
        repo.model(seed=10 + n)
        _killed_save(repo, point)
        repo.ckpt("fsck", "--repair", "--offline")
        ids = {c["id"] for c in repo.ckpt("list", "--json").json()}
        assert first["id"] in ids
        res = repo.ckpt("verify", "--all", "--offline")
        if point in ("copying", "stored"):  # before its commit: only the unsaved work tree
            assert res.out.count("\n") == 1 and "in the work tree does not match" in res.out
        else:
            assert res.code == 0, res.out
    assert len(ids) == 3  # the two saves killed after their commits landed whole
    assert repo.ckpt("save", "models/clf.safetensors", "-n", "clf").code == 0
    assert repo.ckpt("verify", "--all", "--offline").code == 0