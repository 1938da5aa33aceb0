"""Where the DVC cache is: our fast lookup agrees with DVC's own configuration."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from conftest import Repo

from ckptgit import storage


def _dvc_says(repo: Repo) -> Path:
    from dvc.config import Config

    configured = Config(os.fspath(repo.path / ".dvc")).get("cache", {}).get("dir")
    base = Path(configured) if configured else repo.path / ".dvc" / "cache"
    return (repo.path / ".dvc" / base).resolve() / "files" / "md5"


@pytest.mark.parametrize("level", [None, "--local", "--project", "--global"])
def test_cache_root_follows_dvc_config(repo: Repo, tmp_path: Path, level: str | None) -> None:
    if level is not None:
        target = tmp_path / f"cache{level}"
        subprocess.run(["dvc", "config", level, "cache.dir", str(target)], cwd=repo.path,
                       check=True)
    assert storage.cache_root(repo.path) == _dvc_says(repo)
    if level is not None:
        assert storage.cache_root(repo.path) == target / "files" / "md5"
    repo.model(seed=1)
    saved = repo.save()
    md5 = saved["artifact"]["md5"]
    assert storage.object_path(repo.path, md5) == _dvc_says(repo) / md5[:2] / md5[2:]
    assert storage.object_path(repo.path, md5).is_file()
    res = repo.ckpt("verify", "--all")
    assert res.code == 0, res.out + res.err


def test_only_a_cache_dir_setting_counts(tmp_path: Path) -> None:
    conf = tmp_path / "config"
    conf.write_text("[core]\n    remote = ckpt\n    site_cache_dir = /x\n[cache]\n"
                    "    type = \"reflink,copy\"\n['remote \"ckpt\"']\n    dir = nope\n")
    assert not storage._sets_cache_dir(conf)
    conf.write_text("[core]\n    remote = ckpt\n[ cache ]\n    type = copy\n    dir = ../c\n")
    assert storage._sets_cache_dir(conf)
