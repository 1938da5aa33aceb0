"""The index under ``.git/ckpt/``: a cache of git that follows HEAD wherever it goes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conftest import Repo

MODEL = "models/clf.safetensors"


def _index_file(repo: Repo) -> Path:
    [path] = (repo.path / ".git" / "ckpt").glob("index-v*.json")
    return path


def _ids(repo: Repo, *args: str) -> list[str]:
    return [c["id"] for c in repo.ckpt_ok("list", "--json", *args).json()]


def _saves(repo: Repo, n: int, name: str = "clf", seed: int = 0) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        repo.model(f"models/{name}.safetensors", seed=seed + i)
        out.append(repo.save(f"models/{name}.safetensors", name))
    return out


def test_rebuilt_when_deleted_or_corrupt(repo: Repo) -> None:
    saved = _saves(repo, 2)
    expected = [s["id"] for s in reversed(saved)]
    assert _ids(repo) == expected
    index = _index_file(repo)
    index.unlink()
    assert _ids(repo) == expected
    header = json.loads(index.read_text().partition("\n")[0])
    assert header["head"] == repo.git("rev-parse", "HEAD").strip()
    index.write_text("{ not json")
    assert _ids(repo) == expected
    index.write_text(json.dumps({"version": 999, "head": "x", "entries": []}))
    assert _ids(repo) == expected


def test_caught_up_after_a_plain_user_commit(repo: Repo) -> None:
    saved = _saves(repo, 1)
    assert _ids(repo) == [saved[0]["id"]]
    (repo.path / "train.py").write_text("print('v2')\n")
    repo.git("commit", "-qam", "tweak")
    assert _ids(repo) == [saved[0]["id"]]
    head = repo.git("rev-parse", "HEAD").strip()
    assert json.loads(_index_file(repo).read_text().partition("\n")[0])["head"] == head
    more = _saves(repo, 1, seed=5)
    assert _ids(repo) == [more[0]["id"], saved[0]["id"]]


def test_caught_up_after_commits_from_elsewhere(repo: Repo) -> None:
    first = _saves(repo, 1)
    assert _ids(repo) == [first[0]["id"]]  # index now at main's HEAD
    repo.git("checkout", "-q", "-b", "feature")
    later = _saves(repo, 2, seed=3)
    repo.git("checkout", "-q", "main")
    assert _ids(repo) == [first[0]["id"]]  # feature's saves are not reachable from main
    repo.git("merge", "-q", "--ff-only", "feature")
    assert _ids(repo) == [later[1]["id"], later[0]["id"], first[0]["id"]]


def test_reset_hard_drops_the_checkpoint(repo: Repo) -> None:
    saved = _saves(repo, 3)
    assert len(_ids(repo)) == 3
    repo.git("reset", "-q", "--hard", "HEAD~1")
    assert _ids(repo) == [saved[1]["id"], saved[0]["id"]]
    res = repo.ckpt("show", saved[2]["id"])
    assert res.code == 2
    # and a save after the reset continues from what is left
    repo.model(seed=50)
    again = repo.save()
    assert again["parent"] == saved[1]["id"]
    assert _ids(repo) == [again["id"], saved[1]["id"], saved[0]["id"]]


def test_a_commit_that_only_mentions_the_trailer_is_not_a_save(repo: Repo) -> None:
    saved = _saves(repo, 1)
    (repo.path / "train.py").write_text("print('v3')\n")
    repo.git("commit", "-qam", "docs\n\nCkpt-Id: 0123456789abcdef\nCkpt-Name: fake")
    assert _ids(repo) == [saved[0]["id"]]


def test_history_with_many_saves_and_other_commits(repo: Repo) -> None:
    saved = []
    for i in range(6):
        saved += _saves(repo, 1, seed=i)
        (repo.path / "train.py").write_text(f"print({i})\n")
        repo.git("commit", "-qam", f"code {i}")
        if i == 2:
            _index_file(repo).unlink()
    assert _ids(repo) == [s["id"] for s in reversed(saved)]


def test_an_index_holding_nan_metrics_is_read_back_as_written() -> None:
    """orjson refuses the NaN token json.dumps writes: such a file takes the standard parser
    instead of being rebuilt from history on every run."""
    import math

    from ckptgit import index

    raw = json.dumps({"entries": [{"metrics": {"loss": float("nan"), "acc": 0.5}}]}).encode()
    back = index._loads(raw)["entries"][0]["metrics"]
    assert math.isnan(back["loss"]) and back["acc"] == 0.5
    assert index._loads(b'{"a": [1, 2]}') == {"a": [1, 2]}
