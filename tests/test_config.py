"""The work tree's config: its parse is kept per file content, and never outlives an edit."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import Repo

from ckptgit import config

MEMO = "config-parsed-v1.json"


def _memo_dir(repo: Repo) -> Path:
    return repo.path / ".git" / "ckpt"


def test_an_edited_config_is_parsed_again_never_served_from_the_memo(repo: Repo) -> None:
    cfg = repo.path / ".ckpt" / "config.yaml"
    memo = _memo_dir(repo)
    assert config.load(repo.path, memo).stages == ("dev", "staging", "production")
    assert (memo / MEMO).is_file()
    cfg.write_text("stages: [qa, live]\n")
    assert config.load(repo.path, memo).stages == ("qa", "live")
    assert config.load(repo.path, memo).stages == ("qa", "live")  # and from the memo


def test_a_tampered_memo_for_other_bytes_is_ignored(repo: Repo) -> None:
    memo = _memo_dir(repo)
    memo.mkdir(parents=True, exist_ok=True)
    (memo / MEMO).write_text(json.dumps({"sha256": "0" * 64, "data": {"stages": ["evil"]}}))
    assert config.load(repo.path, memo).stages == ("dev", "staging", "production")
    (memo / MEMO).write_text("{not json")
    assert config.load(repo.path, memo).stages == ("dev", "staging", "production")


def test_values_json_cannot_hold_are_not_kept(repo: Repo) -> None:
    cfg = repo.path / ".ckpt" / "config.yaml"
    cfg.write_text("stages: [dev]\nwhen: 2024-01-01\n1: one\n")
    memo = _memo_dir(repo)
    (memo / MEMO).unlink(missing_ok=True)
    first = config.load(repo.path, memo)
    assert not (memo / MEMO).exists()
    assert config.load(repo.path, memo).raw == first.raw


def test_a_broken_config_is_refused_each_time(repo: Repo) -> None:
    (repo.path / ".ckpt" / "config.yaml").write_text("stages: [dev\n")
    for _ in range(2):
        res = repo.ckpt("list")
        assert res.code == 2 and "not valid YAML" in res.err
