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


def test_a_single_file_object_is_one_dvc_accepts_as_its_own(repo: Repo) -> None:
    """A file is stored without DVC's modules: DVC must still find, trust and check out the
    object (read-only like its own, where its status and checkout look)."""
    import stat

    from dvc_data.hashfile.db.local import LocalHashFileDB
    from dvc_objects.fs.local import LocalFileSystem

    repo.model(seed=3)
    md5 = repo.save()["artifact"]["md5"]
    obj = storage.object_path(repo.path, md5)
    assert stat.S_IMODE(obj.stat().st_mode) == 0o444
    odb = LocalHashFileDB(LocalFileSystem(), os.fspath(storage.cache_root(repo.path)))
    assert odb.oid_to_path(md5) == os.fspath(obj) and odb.is_protected(os.fspath(obj))
    odb.check(md5)  # DVC's own integrity check of the object raises when it is off
    model = repo.path / "models" / "clf.safetensors"
    expected = model.read_bytes()
    status = subprocess.run(["dvc", "status", "-q", "models/clf.safetensors.dvc"],
                            cwd=repo.path, capture_output=True, text=True, check=False)
    assert status.returncode == 0, status.stdout + status.stderr  # -q: 0 means up to date
    model.unlink()
    subprocess.run(["dvc", "checkout", "-q", "models/clf.safetensors.dvc"], cwd=repo.path,
                   check=True, capture_output=True)
    assert model.read_bytes() == expected


@pytest.mark.parametrize("name", ["clf", "1e3", "null"])
def test_dvc_yaml_declares_each_name_once_as_dvc_reads_it(repo: Repo, name: str) -> None:
    """Saved twice, the second save finds the declaration without the round-trip parser;
    a name YAML 1.2 reads as a number or null must still be declared as the string."""
    from dvc.utils.serialize import parse_yaml_for_update

    for seed in (1, 2):
        repo.model(seed=seed)
        repo.save(name=name)
    text = (repo.path / "dvc.yaml").read_text()
    artifacts = parse_yaml_for_update(text, "dvc.yaml")["artifacts"]
    assert dict(artifacts) == {name: {"path": "models/clf.safetensors", "type": "model"}}
    assert storage.with_artifact(text.encode(), name, "models/clf.safetensors") is None


def test_dvc_yaml_with_a_wrong_declaration_is_corrected(repo: Repo) -> None:
    repo.model(seed=1)
    repo.save()
    dvc_yaml = repo.path / "dvc.yaml"
    dvc_yaml.write_text(dvc_yaml.read_text().replace("type: model", "type: dataset"))
    repo.git("commit", "-q", "-am", "hand edit")
    repo.model(seed=2)
    repo.save()
    assert "type: model" in dvc_yaml.read_text()
    assert "type: dataset" not in repo.git("show", "HEAD:dvc.yaml")


@pytest.mark.parametrize("key", ["1e3", "null", "true", "0x1f", ".inf"])
def test_a_declaration_yaml_1_2_reads_as_no_string_is_not_taken_as_present(key: str) -> None:
    """PyYAML (YAML 1.1) reads an unquoted ``1e3`` key as text, DVC (YAML 1.2) as a number:
    the quick check must not call such a name declared."""
    text = f"artifacts:\n  {key}:\n    path: models/m.bin\n    type: model\n".encode()
    assert storage.with_artifact(text, key, "models/m.bin") is not None
    quoted = text.replace(f"  {key}:".encode(), f"  '{key}':".encode())
    assert storage.with_artifact(quoted, key, "models/m.bin") is None


def test_dvc_loggers_unmuted_after_overlapping_threads() -> None:
    """Two replicas written at once, leaving in the order they entered: DVC's loggers must come
    back to their levels (the second thread once saved the first's CRITICAL and restored it)."""
    import logging
    import threading

    from ckptgit.storage import _quiet_dvc

    dvc_log = logging.getLogger("dvc")
    before = dvc_log.level
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()

    def first() -> None:
        with _quiet_dvc():
            a_in.set()
            b_in.wait(10)
        a_out.set()

    def second() -> None:
        a_in.wait(10)
        with _quiet_dvc():
            b_in.set()
            a_out.wait(10)
            assert dvc_log.level == logging.CRITICAL  # still muted while one is inside

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert dvc_log.level == before
