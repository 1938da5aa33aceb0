"""REF everywhere: ids, prefixes, NAME, NAME@latest, NAME~N and commit-ish, with candidates."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from conftest import Repo

from ckptgit.ops import save as save_op

MODEL = "models/clf.safetensors"


@pytest.fixture
def fixed_ids(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Chosen ids, so prefixes can be made to collide (ids are random otherwise)."""
    ids = ["abcd000000000001", "abcd000000000002", "ef01000000000003", "ef02000000000004"]
    queue = list(ids)
    monkeypatch.setattr(save_op, "_new_id", lambda: queue.pop(0))
    yield ids


def _three(repo: Repo) -> list[dict[str, Any]]:
    saved = []
    for seed in range(3):
        repo.model(seed=seed)
        saved.append(repo.save(MODEL, "clf", "--step", str(seed)))
    return saved


def _show(repo: Repo, ref: str) -> dict[str, Any]:
    doc: dict[str, Any] = repo.ckpt_ok("show", ref, "--json").json()
    return doc


def _fails(repo: Repo, ref: str) -> str:
    res = repo.ckpt("show", ref)
    assert res.code == 2, res
    assert res.err.startswith("error:") and len(res.err.strip().splitlines()) == 1
    assert "Traceback" not in res.err
    return res.err


def test_name_latest_and_tilde(repo: Repo) -> None:
    saved = _three(repo)
    assert _show(repo, "clf")["id"] == saved[2]["id"]
    assert _show(repo, "clf@latest")["id"] == saved[2]["id"]
    assert _show(repo, "clf~0")["id"] == saved[2]["id"]
    assert _show(repo, "clf~1")["id"] == saved[1]["id"]
    assert _show(repo, "clf~2")["id"] == saved[0]["id"]
    err = _fails(repo, "clf~3")
    assert "only 3 saves" in err and "clf~2" in err


def test_full_id_and_unique_prefix(repo: Repo) -> None:
    saved = _three(repo)
    for s in saved:
        assert _show(repo, s["id"])["id"] == s["id"]
    ids = [s["id"] for s in saved]
    for s in saved:
        n = next(n for n in range(4, 17)
                 if sum(i.startswith(s["id"][:n]) for i in ids) == 1)
        assert _show(repo, s["id"][:n])["commit"] == s["commit"]


def test_ambiguous_prefix_lists_candidates(repo: Repo, fixed_ids: list[str]) -> None:
    repo.model()
    repo.save(MODEL, "clf")
    repo.model("models/b.safetensors", seed=1)
    repo.save("models/b.safetensors", "b")
    err = _fails(repo, "abcd")
    assert "ambiguous" in err
    assert "abcd000000000001 (clf)" in err and "abcd000000000002 (b)" in err
    assert _show(repo, "abcd000000000001")["name"] == "clf"
    assert _show(repo, "abcd000000000002")["name"] == "b"


def test_commit_ish(repo: Repo) -> None:
    saved = _three(repo)
    for s in saved:
        assert _show(repo, s["commit"])["id"] == s["id"]
        assert _show(repo, s["commit"][:10])["id"] == s["id"]
    assert _show(repo, "HEAD")["id"] == saved[2]["id"]
    assert _show(repo, "HEAD~1")["id"] == saved[1]["id"]
    assert _show(repo, "main")["id"] == saved[2]["id"]


def test_later_commit_with_one_sidecar_names_it(repo: Repo) -> None:
    repo.model()
    saved = repo.save()
    (repo.path / "train.py").write_text("print('more')\n")
    repo.git("commit", "-qam", "more training code")
    doc = _show(repo, "HEAD")
    assert doc["id"] == saved["id"]
    assert doc["commit"] == saved["commit"]  # the save commit, not the later one


def test_commit_with_two_checkpoints_lists_both(repo: Repo) -> None:
    repo.model()
    repo.save()
    repo.model("models/b.safetensors", seed=1)
    repo.save("models/b.safetensors", "b")
    (repo.path / "train.py").write_text("print('more')\n")
    repo.git("commit", "-qam", "later")
    err = _fails(repo, "HEAD")
    assert "2 checkpoints" in err
    assert MODEL in err and "models/b.safetensors" in err


def test_commit_before_any_checkpoint(repo: Repo) -> None:
    repo.model()
    repo.save()
    err = _fails(repo, "HEAD~1")
    assert "no checkpoint" in err


def test_unknown_ref_lists_candidates(repo: Repo) -> None:
    _three(repo)
    repo.model("models/bert.safetensors", seed=4)
    repo.save("models/bert.safetensors", "bert-base")
    err = _fails(repo, "clff")
    assert "unknown checkpoint reference 'clff'" in err and "candidates: clf" in err
    err = _fails(repo, "nothing-like-it")
    assert "candidates:" in err and "bert-base" in err and "clf" in err
    err = _fails(repo, "bert~1")
    assert "candidates" in err
    err = _fails(repo, "nosuch@latest")
    assert "no checkpoint named 'nosuch'" in err


@pytest.mark.parametrize("ref", ["", "   ", "--all", "-h@latest", "clf#", "abc\n"])
def test_odd_refs_are_one_line_errors(repo: Repo, ref: str) -> None:
    repo.model()
    repo.save()
    res = repo.ckpt("show", "--", ref)
    assert res.code == 2, res
    assert res.err.startswith("error:") and "Traceback" not in res.err


def test_stage_ref_without_promotions_lists_nothing(repo: Repo) -> None:
    repo.model()
    repo.save()
    err = _fails(repo, "clf#production")
    assert "holds no checkpoint" in err
