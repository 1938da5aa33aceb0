"""``git ckpt init``: DVC set-up, cache and remote settings, hooks, one commit, idempotence."""

from __future__ import annotations

import os
from pathlib import Path

from configobj import ConfigObj
from conftest import Repo, git

SETUP_FILES = {".dvc/.gitignore", ".dvc/config", ".dvcignore", ".ckpt/config.yaml",
               ".ckpt/allowed_signers"}


def _plain_repo(tmp_path: Path) -> Repo:
    path = tmp_path / "plain"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    (path / "train.py").write_text("print('hi')\n")
    git(path, "add", "train.py")
    git(path, "commit", "-q", "-m", "initial")
    return Repo(path, tmp_path / "unused")


def _dvc_config(root: Path) -> ConfigObj:
    return ConfigObj(str(root / ".dvc" / "config"))


def test_init_sets_up_dvc_cache_remote_hooks_in_one_commit(tmp_path: Path) -> None:
    repo = _plain_repo(tmp_path)
    before = repo.git("rev-parse", "HEAD").strip()
    res = repo.ckpt_ok("init", "--json").json()

    conf = _dvc_config(repo.path)
    assert conf["cache"]["type"] == "reflink,copy"
    remote_name = conf["core"]["remote"]
    url = conf[f'remote "{remote_name}"']["url"]
    assert Path(url) == repo.path / ".git" / "ckpt" / "dvc-remote"
    assert Path(url).is_dir()
    assert res["remote"] == url

    hooks = repo.path / ".git" / "hooks"
    for hook in ("pre-commit", "pre-push"):
        assert os.access(hooks / hook, os.X_OK)
        assert "git ckpt hook" in (hooks / hook).read_text()
    assert sorted(res["hooks"]) == ["pre-commit", "pre-push"]

    # exactly one new commit, holding only the set-up files
    assert repo.git("rev-list", f"{before}..HEAD").split() == [res["commit"]]
    changed = set(repo.git("diff-tree", "--no-commit-id", "--name-only", "-r", "HEAD").split())
    assert changed == SETUP_FILES
    # nothing left staged or modified by init itself
    assert repo.git("status", "--porcelain") == ""


def test_init_is_idempotent(tmp_path: Path) -> None:
    repo = _plain_repo(tmp_path)
    repo.ckpt_ok("init")
    head = repo.git("rev-parse", "HEAD")
    config = (repo.path / ".dvc" / "config").read_bytes()
    second = repo.ckpt_ok("init", "--json").json()
    assert second["commit"] is None
    assert repo.git("rev-parse", "HEAD") == head
    assert (repo.path / ".dvc" / "config").read_bytes() == config
    assert repo.git("status", "--porcelain") == ""


def test_init_keeps_the_users_staged_work_out_of_its_commit(tmp_path: Path) -> None:
    repo = _plain_repo(tmp_path)
    (repo.path / "train.py").write_text("print('staged')\n")
    repo.git("add", "train.py")
    repo.ckpt_ok("init")
    changed = set(repo.git("diff-tree", "--no-commit-id", "--name-only", "-r", "HEAD").split())
    assert changed == SETUP_FILES
    assert repo.git("diff", "--cached", "--name-only").split() == ["train.py"]


def test_init_with_remote_url(tmp_path: Path) -> None:
    repo = _plain_repo(tmp_path)
    url = str(tmp_path / "elsewhere")
    res = repo.ckpt_ok("init", "--remote", url, "--json").json()
    conf = _dvc_config(repo.path)
    assert conf[f'remote "{conf["core"]["remote"]}"']["url"] == url == res["remote"]
    # a second init with another URL switches the remote, in a new commit
    other = str(tmp_path / "other")
    again = repo.ckpt_ok("init", "--remote", other, "--json").json()
    assert again["commit"] == repo.git("rev-parse", "HEAD").strip()
    assert _dvc_config(repo.path)[f'remote "{conf["core"]["remote"]}"']["url"] == other


def test_init_keeps_an_existing_dvc_remote(repo: Repo) -> None:
    conf = _dvc_config(repo.path)
    url = conf[f'remote "{conf["core"]["remote"]}"']["url"]
    assert repo.ckpt_ok("init", "--json").json()["remote"] == url


def test_init_outside_git_is_a_usage_error(tmp_path: Path) -> None:
    lonely = tmp_path / "lonely"
    lonely.mkdir()
    res = Repo(lonely, tmp_path).ckpt("init")
    assert res.code == 2
    assert res.err.startswith("error: not a git repository")
    assert len(res.err.strip().splitlines()) == 1
    assert not (lonely / ".dvc").exists()


def test_commands_before_init_say_to_run_it(tmp_path: Path) -> None:
    repo = _plain_repo(tmp_path)
    res = repo.ckpt("list")
    assert res.code == 2
    assert "git ckpt init" in res.err
