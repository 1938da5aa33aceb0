"""``git ckpt gc``: what no commit, index or work tree names leaves the cache; nothing else does."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from conftest import Repo, write_model

from ckptgit import storage


def _dvc(cwd: Path, *args: str) -> None:
    subprocess.run(["dvc", *args], cwd=cwd, check=True, capture_output=True)


def _object(repo: Repo, md5: str) -> Path:
    return storage.object_path(repo.path, md5)


def _age_cache(repo: Repo, seconds: float = 7200) -> None:
    old = time.time() - seconds
    for p in (repo.path / ".dvc" / "cache").rglob("*"):
        os.utime(p, (old, old))


def _dropped_branch(repo: Repo) -> dict:
    """A checkpoint saved on a branch that was then deleted and expired from the reflog."""
    repo.git("switch", "-q", "-c", "exp")
    repo.model(seed=9)
    lost = repo.save()
    repo.git("switch", "-q", "main")
    repo.git("branch", "-q", "-D", "exp")
    repo.ckpt_ok("restore", "clf", "--force")  # the work tree held the branch's bytes
    return lost


@pytest.fixture
def kept(repo: Repo) -> list[dict]:
    out = []
    for seed in (1, 2):
        repo.model(seed=seed)
        out.append(repo.save())
    return out


def test_clean_repo_has_nothing_to_collect(repo: Repo, kept: list[dict]) -> None:
    res = repo.ckpt_ok("gc", "--dry-run", "--grace", "0", "--json")
    plan = res.json()
    assert plan["collectable"] == [] and plan["objects"] == plan["kept"] == 2


def test_a_deleted_branch_is_kept_until_its_reflog_expires(repo: Repo, kept: list[dict]) -> None:
    lost = _dropped_branch(repo)
    gone = _object(repo, lost["artifact"]["md5"])
    assert repo.ckpt_ok("gc", "--grace", "0", "--json").json()["removed"] == []  # reflog
    repo.git("reflog", "expire", "--expire=now", "--all")
    dry = repo.ckpt_ok("gc", "--dry-run", "--grace", "0")
    assert f"would remove {lost['artifact']['md5']}" in dry.out and gone.exists()
    assert "1 object (1.1 KiB) would be removed; 2 named objects kept" in dry.err
    done = repo.ckpt_ok("gc", "--grace", "0", "--json").json()
    assert done["removed"] == [lost["artifact"]["md5"]] and not gone.exists()
    assert done["removed_bytes"] == lost["artifact"]["size"]
    for c in kept:
        assert _object(repo, c["artifact"]["md5"]).is_file()
    assert repo.ckpt("verify", "--all", "--offline").code == 0
    assert repo.ckpt_ok("gc", "--grace", "0", "--json").json()["removed"] == []


def test_young_objects_are_kept_for_the_grace_period(repo: Repo, kept: list[dict]) -> None:
    lost = _dropped_branch(repo)
    repo.git("reflog", "expire", "--expire=now", "--all")
    res = repo.ckpt_ok("gc")
    assert "removed 0 objects" in res.err and "1 younger than 1h kept" in res.err
    assert _object(repo, lost["artifact"]["md5"]).is_file()
    _age_cache(repo)
    assert repo.ckpt_ok("gc", "--json").json()["removed"] == [lost["artifact"]["md5"]]


def test_work_tree_and_index_records_keep_their_objects(repo: Repo, kept: list[dict]) -> None:
    """A ``dvc add`` not yet committed (staged, or not even staged) still owns its bytes."""
    for name in ("staged.bin", "untracked.bin"):
        (repo.path / name).write_bytes(name.encode() * 1000)
        _dvc(repo.path, "add", "-q", name)
    repo.git("add", "staged.bin.dvc")
    _age_cache(repo)
    plan = repo.ckpt_ok("gc", "--dry-run", "--json").json()
    assert plan["collectable"] == [] and plan["kept"] == 4
    (repo.path / "untracked.bin.dvc").unlink()  # the only record of those bytes is gone
    plan = repo.ckpt_ok("gc", "--dry-run", "--json").json()
    assert [g["size"] for g in plan["collectable"]] == [len(b"untracked.bin") * 1000]


def test_the_run_cache_keeps_its_outputs(repo: Repo) -> None:
    """``dvc repro`` can restore a stage's output from the run cache alone: so gc keeps it."""
    (repo.path / "dep.txt").write_text("input\n")
    _dvc(repo.path, "stage", "add", "-q", "-n", "prep", "-d", "dep.txt", "-o", "out.txt",
         "cp dep.txt out.txt && echo done >> out.txt")
    _dvc(repo.path, "repro", "-q")
    out = yaml.safe_load((repo.path / "dvc.lock").read_text())["stages"]["prep"]["outs"][0]["md5"]
    for name in ("dvc.lock", "dvc.yaml", "out.txt"):
        (repo.path / name).unlink()  # nothing in git or the work trees names the output now
    _age_cache(repo)
    assert repo.ckpt_ok("gc", "--json").json()["removed"] == [] and _object(repo, out).is_file()
    shutil.rmtree(repo.path / ".dvc" / "cache" / "runs")
    assert repo.ckpt_ok("gc", "--json").json()["removed"] == [out]


def test_a_linked_worktree_keeps_its_records(repo: Repo, kept: list[dict],
                                             tmp_path: Path) -> None:
    """A second worktree sharing the cache (as ``reproduce`` sets one up) owns its new bytes."""
    other = tmp_path / "other"
    repo.git("worktree", "add", "-q", "--detach", str(other))
    _dvc(other, "cache", "dir", "--local", str(repo.path / ".dvc" / "cache"))
    (other / "extra.bin").write_bytes(b"x" * 5000)
    _dvc(other, "add", "-q", "extra.bin")
    md5 = storage.parse_pointer((other / "extra.bin.dvc").read_bytes()).md5
    assert _object(repo, md5).is_file()
    _age_cache(repo)
    assert repo.ckpt_ok("gc", "--json").json()["removed"] == []
    repo.git("worktree", "remove", "--force", str(other))
    assert repo.ckpt_ok("gc", "--json").json()["removed"] == [md5]


def test_directory_members_follow_their_listing(repo: Repo) -> None:
    for i in range(3):
        write_model(repo.path / "out/tok" / f"part{i}.safetensors", seed=i)
    saved = repo.save("out/tok", "tok", "--push")
    listing = saved["artifact"]["md5"]
    members = [m for _, m in storage.dir_entries(repo.path, listing)]
    _age_cache(repo)
    assert repo.ckpt_ok("gc", "--json").json()["kept"] == 4
    _object(repo, listing).unlink()  # the listing is lost locally, but is on the remote
    assert repo.ckpt_ok("gc", "--json").json()["removed"] == []
    res = repo.ckpt("gc", "--offline")  # now nobody can say which objects are members
    assert res.code == 4 and f"directory listing {listing}" in res.err
    assert "gc removed nothing" in res.err
    assert all(_object(repo, m).is_file() for m in members)


def test_a_cache_outside_the_repository_is_refused(repo: Repo, kept: list[dict],
                                                   tmp_path: Path) -> None:
    shared = tmp_path / "shared-cache"
    (repo.path / ".dvc" / "cache").rename(shared)
    _dvc(repo.path, "cache", "dir", "--local", str(shared))
    stray = storage.object_path(repo.path, "0" * 32)
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_bytes(b"another project's bytes")
    _age_cache(repo)
    os.utime(stray, (time.time() - 7200,) * 2)
    dry = repo.ckpt("gc", "--dry-run")
    assert dry.code == 4 and "gc would refuse" in dry.err and "may be shared" in dry.err
    res = repo.ckpt("gc")
    assert res.code == 4 and "gc removed nothing" in res.err and stray.is_file()


def test_a_shallow_clone_is_refused(repo: Repo, kept: list[dict], tmp_path: Path) -> None:
    """Older commits, not fetched, may name objects in a cache the clone shares or inherits."""
    shallow = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{repo.path}", str(shallow)],
                   check=True, capture_output=True)
    # the first save's bytes, pulled earlier; its commit lies beyond the clone's one commit
    stray = storage.object_path(shallow, kept[0]["artifact"]["md5"])
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_bytes(_object(repo, kept[0]["artifact"]["md5"]).read_bytes())
    os.utime(stray, (time.time() - 7200,) * 2)
    clone = Repo(shallow, repo.remote)
    dry = clone.ckpt("gc", "--dry-run")
    assert dry.code == 4 and dry.out == "" and "gc would refuse" in dry.err
    res = clone.ckpt("gc")
    assert res.code == 4 and "this clone is shallow" in res.err and stray.is_file()
    assert "orphan" not in clone.ckpt("fsck", "--offline").out  # unknown, so not reported


@pytest.mark.parametrize("grace", ["soon", "-1", "3y", ""])
def test_a_bad_grace_is_a_usage_error(repo: Repo, grace: str) -> None:
    res = repo.ckpt("gc", "--grace", grace)
    assert res.code == 2 and "is not a duration" in res.err and len(res.err.splitlines()) == 1


def test_gc_needs_an_initialized_repository(tmp_path: Path) -> None:
    from conftest import git_project

    path = git_project(tmp_path, "plain")
    res = Repo(path, tmp_path / "none").ckpt("gc")
    assert res.code == 2 and "git ckpt init" in res.err
