"""What a save records about its context: values, code state, environment, data inputs."""

from __future__ import annotations

import math
import platform
import sys
from pathlib import Path

import pytest
from conftest import Repo

from ckptgit.capture import code, data, environment, values
from ckptgit.errors import UsageError
from ckptgit.git import Git


# -- values -----------------------------------------------------------------------------------
def test_pairs_are_typed_like_users_mean_them() -> None:
    got = values.parse_pairs(["lr=3e-4", "bs=32", "opt=adam", "amp=true", "wd=0.01",
                              "optim.beta1=0.9", "optim.beta2=0.999", "tag=", "ver=v1.2",
                              "expr=a: b: c", "list=[1, 2]"], "param")
    assert got == {"lr": 3e-4, "bs": 32, "opt": "adam", "amp": True, "wd": 0.01,
                   "optim": {"beta1": 0.9, "beta2": 0.999}, "tag": "", "ver": "v1.2",
                   "expr": "a: b: c", "list": "[1, 2]"}


def test_pairs_nonfinite_and_conflicts() -> None:
    got = values.parse_pairs(["a=nan", "b=-inf"], "metric")
    assert math.isnan(got["a"]) and got["b"] == -math.inf
    with pytest.raises(UsageError, match="already a value"):
        values.parse_pairs(["a=1", "a.b=2"], "param")
    with pytest.raises(UsageError, match="KEY=VALUE"):
        values.parse_pairs(["novalue"], "param")


def test_finite_replaces_nonfinite_everywhere(caplog: pytest.LogCaptureFixture) -> None:
    got = values.finite({"a": [1.0, float("nan")], "b": {"c": float("-inf")}, "d": None,
                         "e": (1, 2)}, "metric")
    assert got == {"a": [1.0, "nan"], "b": {"c": "-inf"}, "d": None, "e": [1, 2]}
    assert [r.getMessage() for r in caplog.records] == [
        "metric a[1] is nan; stored as the string 'nan'",
        "metric b.c is -inf; stored as the string '-inf'"]


def test_files_and_pairs_merge_pairs_win(tmp_path: Path) -> None:
    f = tmp_path / "p.yaml"
    f.write_text("lr: 0.1\noptim:\n  name: sgd\n  momentum: 0.9\n")
    merged = values.merge(values.read_file(f, "params"),
                          values.parse_pairs(["optim.name=adam", "lr=0.2"], "param"))
    assert merged == {"lr": 0.2, "optim": {"name": "adam", "momentum": 0.9}}
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert values.read_file(empty, "params") == {}


# -- code -------------------------------------------------------------------------------------
def test_code_state_clean_dirty_detached(repo: Repo) -> None:
    git = Git.discover(repo.path)
    head = repo.git("rev-parse", "HEAD").strip()
    assert code.capture(git) == {"commit": head, "branch": "main", "dirty": False}
    (repo.path / "untracked.py").write_text("x = 1\n")
    untracked = code.capture(git)  # code the run may have used: dirty, counted, pinned
    assert untracked["dirty"] is True and untracked["untracked"] == 1
    (repo.path / "untracked.py").write_text("x = 2\n")
    assert code.capture(git)["diff_sha256"] != untracked["diff_sha256"]
    (repo.path / ".gitignore").write_text("untracked.py\n.gitignore\n")
    assert code.capture(git)["dirty"] is False  # ignored files are not code
    (repo.path / "train.py").write_text("print('changed')\n")
    dirty = code.capture(git)
    assert dirty["dirty"] is True and len(dirty["diff_sha256"]) == 64
    repo.git("add", "train.py")
    assert code.capture(git)["diff_sha256"] == dirty["diff_sha256"]  # staged or not: same
    assert code.capture(git, exclude=["train.py"])["dirty"] is False
    repo.git("stash", "-q")
    repo.git("checkout", "-q", "--detach")
    assert code.capture(git) == {"commit": head, "branch": None, "dirty": False}


# -- environment ------------------------------------------------------------------------------
def test_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    monkeypatch.setenv("CKPT_CONTAINER_IMAGE", "ghcr.io/acme/train:1.2")
    env = environment.capture(["CUDA_VISIBLE_DEVICES", "NOT_SET_ANYWHERE"])
    assert env["python"] == platform.python_version()
    assert env["env"] == {"CUDA_VISIBLE_DEVICES": "0,1"}
    assert env["container"]["image"] == "ghcr.io/acme/train:1.2"
    assert env["packages"]["pyyaml"] and env["packages"]["dvc"]
    assert env["cpu_count"] >= 1
    assert environment.capture([], record_packages=False)["packages"] == {}
    assert environment.command_line(["/usr/bin/train.py", "--lr", "1"]) == \
        ["train.py", "--lr", "1"]


# -- data -------------------------------------------------------------------------------------
def test_data_from_dvc_lock_and_pointer(repo: Repo) -> None:
    (repo.path / "dvc.lock").write_text(
        "schema: '2.0'\nstages:\n  prep:\n    cmd: python prep.py\n    outs:\n"
        "    - path: data/clean.csv\n      md5: 0123456789abcdef0123456789abcdef\n"
        "      size: 42\n")
    (repo.path / "data").mkdir()
    (repo.path / "data" / "raw.csv.dvc").write_text(
        "outs:\n- md5: fedcba9876543210fedcba9876543210.dir\n  size: 9\n  nfiles: 3\n"
        "  hash: md5\n  path: raw.csv\n")
    got = data.capture(repo.path, ["data/clean.csv", "data/raw.csv.dvc"], cwd=repo.path)
    assert got == [
        {"path": "data/clean.csv", "md5": "0123456789abcdef0123456789abcdef", "size": 42,
         "nfiles": None},
        {"path": "data/raw.csv", "md5": "fedcba9876543210fedcba9876543210.dir", "size": 9,
         "nfiles": 3},
    ]
    got = data.capture(repo.path, ["raw.csv"], cwd=repo.path / "data")
    assert got[0]["path"] == "data/raw.csv"
    with pytest.raises(UsageError, match="outside the repository"):
        data.capture(repo.path, ["../elsewhere.csv"], cwd=repo.path)
    with pytest.raises(UsageError, match="not tracked by DVC"):
        data.capture(repo.path, ["train.py"], cwd=repo.path)


def test_packages_are_what_importlib_metadata_lists() -> None:
    """The scan of ``sys.path`` finds what importlib.metadata finds, first one winning."""
    from importlib import metadata

    expected: dict[str, str] = {}
    for dist in metadata.distributions():
        name, version = dist.metadata["Name"], dist.version
        if name:
            expected.setdefault(name.lower(), version)
    assert environment._packages.__wrapped__() == dict(sorted(expected.items()))


def test_packages_read_an_egg_info_and_skip_what_is_not_metadata(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a_pkg-1.0.dist-info").mkdir()
    (tmp_path / "a_pkg-1.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: A-Pkg\nVersion: 1.0\n\nName: not-this\n")
    (tmp_path / "old.egg-info").mkdir()
    (tmp_path / "old.egg-info" / "PKG-INFO").write_text("Name: old\nVersion: 0.1\n")
    (tmp_path / "flat.egg-info").write_text("Name: flat\nVersion: 9\n")  # a file: skipped
    (tmp_path / "b.dist-info").mkdir()  # no METADATA: skipped
    monkeypatch.setattr(sys, "path", [str(tmp_path), str(tmp_path / "missing")])
    assert environment._packages.__wrapped__() == {"a-pkg": "1.0", "old": "0.1"}
