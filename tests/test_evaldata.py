"""Fair comparison (compare/evaldata.py): ``save --eval-data`` records the DVC hash of the data
metrics were computed on; diff, rank, check and promotion warn, or refuse per config, when two
checkpoints' metrics rest on different (or unknown vs known) evaluation data."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import Repo

MODEL = "models/clf.safetensors"


def _data(repo: Repo, rel: str, text: str) -> None:
    path = repo.path / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    subprocess.run(["dvc", "add", "-q", rel], cwd=repo.path, check=True)


def _save(repo: Repo, seed: int, acc: float, *extra: str) -> dict[str, str]:
    repo.model(seed=seed)
    saved: dict[str, str] = repo.save(MODEL, "clf", "--metric", f"acc={acc}", *extra)
    return saved


def _config(repo: Repo, text: str) -> None:
    config = repo.path / ".ckpt/config.yaml"
    config.write_text(config.read_text() + text)


def _sidecar(repo: Repo) -> dict[str, object]:
    doc: dict[str, object] = yaml.safe_load((repo.path / f"{MODEL}.ckpt.yaml").read_text())
    return doc


# -- hostile input first -----------------------------------------------------------------------
def test_a_path_not_tracked_by_dvc_is_refused(repo: Repo) -> None:
    (repo.path / "val.csv").write_text("x\n")
    repo.model()
    res = repo.ckpt("save", MODEL, "-n", "clf", "--eval-data", "val.csv")
    assert res.code == 2 and "--eval-data val.csv: not tracked by DVC" in res.err, res.err
    assert "ckpt: save" not in repo.git("log", "--format=%s")


def test_a_path_outside_the_repository_is_refused(repo: Repo, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.csv"
    outside.write_text("x\n")
    repo.model()
    for given in (str(outside), "../elsewhere.csv"):
        res = repo.ckpt("save", MODEL, "-n", "clf", "--eval-data", given)
        assert res.code == 2 and "outside the repository" in res.err, res.err


def test_a_symlink_is_refused_even_to_tracked_data(repo: Repo) -> None:
    _data(repo, "data/val.csv", "a\n1\n")
    os.symlink("data/val.csv", repo.path / "val-link.csv")
    repo.model()
    res = repo.ckpt("save", MODEL, "-n", "clf", "--eval-data", "val-link.csv")
    assert res.code == 2 and "symlink" in res.err, res.err


def test_an_invalid_comparison_setting_is_a_usage_error(repo: Repo) -> None:
    _data(repo, "data/val.csv", "a\n1\n")
    first = _save(repo, 1, 0.8, "--eval-data", "data/val.csv")
    second = _save(repo, 2, 0.9)
    _config(repo, "comparison:\n  eval_data: shout\n")
    res = repo.ckpt("diff", first["id"], second["id"])
    assert res.code == 2 and "comparison.eval_data" in res.err, res.err


# -- recorded ----------------------------------------------------------------------------------
def test_save_records_the_hash_per_metrics_section(repo: Repo) -> None:
    _data(repo, "data/val.csv", "a\n1\n")
    _data(repo, "data/test.csv", "a\n2\n")
    repo.model()
    repo.save(MODEL, "clf", "--metric", "val.acc=0.8", "--metric", "test.acc=0.7",
              "--eval-data", "val=data/val.csv", "--eval-data", "data/test.csv")
    entries = _sidecar(repo)["eval_data"]
    assert isinstance(entries, list)
    assert {(e["path"], e["metrics"]) for e in entries} == {("data/val.csv", "val"),
                                                            ("data/test.csv", "*")}
    assert all(len(e["md5"]) == 32 for e in entries)


# -- compared ----------------------------------------------------------------------------------
def test_changed_evaluation_data_warns_in_diff_rank_and_check(repo: Repo) -> None:
    _data(repo, "data/val.csv", "a\n1\n")
    first = _save(repo, 1, 0.8, "--eval-data", "data/val.csv")
    same = _save(repo, 2, 0.85, "--eval-data", "data/val.csv")
    res = repo.ckpt_ok("diff", first["id"], same["id"], "--json")
    assert "warnings" not in res.json() and "evaluation data" not in res.err
    _data(repo, "data/val.csv", "a\n1\n2\n")  # the validation set changed under the run
    changed = _save(repo, 3, 0.95, "--eval-data", "data/val.csv")
    res = repo.ckpt_ok("diff", same["id"], changed["id"], "--json")
    [warning] = res.json()["warnings"]
    assert warning["kind"] == "different" and warning["metrics"] == ["acc"]
    assert warning["a_eval_data"][0]["md5"] != warning["b_eval_data"][0]["md5"]
    text = repo.ckpt_ok("diff", same["id"], changed["id"])
    assert "different evaluation data" in text.err, text.err
    comment = repo.ckpt_ok("diff", same["id"], changed["id"], "--format", "markdown").out
    assert "> **Warning:** metrics acc were computed on different evaluation data" in comment
    ranked = repo.ckpt_ok("rank", "--name", "clf", "--by", "acc:max", "--json").json()
    assert ranked[0]["id"] == changed["id"] and "warnings" not in ranked[0]
    assert [bool(r.get("warnings")) for r in ranked[1:]] == [True, True]
    found = repo.ckpt("check", changed["id"], "--json").json()
    assert [f["rule"] for f in found if f["rule"] == "eval-data-differs"] == [
        "eval-data-differs"]


def test_unknown_versus_known_warns_and_both_unknown_stays_silent(repo: Repo) -> None:
    old = _save(repo, 1, 0.8)
    older = _save(repo, 2, 0.82)
    res = repo.ckpt_ok("diff", old["id"], older["id"], "--json")
    assert "warnings" not in res.json() and "evaluation data" not in res.err
    _data(repo, "data/val.csv", "a\n1\n")
    known = _save(repo, 3, 0.9, "--eval-data", "data/val.csv")
    [warning] = repo.ckpt_ok("diff", older["id"], known["id"], "--json").json()["warnings"]
    assert warning["kind"] == "unknown" and "records no evaluation data" in warning["message"]


def test_refuse_and_ignore_per_config(repo: Repo) -> None:
    _data(repo, "data/val.csv", "a\n1\n")
    first = _save(repo, 1, 0.8, "--eval-data", "data/val.csv")
    _data(repo, "data/val.csv", "a\n9\n")
    second = _save(repo, 2, 0.9, "--eval-data", "data/val.csv")
    _config(repo, "comparison:\n  eval_data: refuse\n")
    for args in (("diff", first["id"], second["id"]),
                 ("rank", "--name", "clf", "--by", "acc:max"),
                 ("check", second["id"])):
        res = repo.ckpt(*args)
        assert res.code == 4 and "evaluation data" in res.err, (args, res.err)
    # a diff of other sections compares no metrics: nothing to refuse
    assert repo.ckpt("diff", first["id"], second["id"], "--only", "params").code == 0
    config = repo.path / ".ckpt/config.yaml"
    config.write_text(config.read_text().replace("eval_data: refuse", "eval_data: ignore"))
    res = repo.ckpt_ok("diff", first["id"], second["id"], "--json")
    assert "warnings" not in res.json() and "evaluation data" not in res.err


def test_python_api_and_tracker_record_eval_data(repo: Repo, monkeypatch: pytest.MonkeyPatch
                                                 ) -> None:
    import ckptgit

    _data(repo, "data/val.csv", "a\n1\n")
    monkeypatch.chdir(repo.path)
    repo.model()
    ckptgit.save(MODEL, "clf", metrics={"acc": 0.8}, eval_data=["data/val.csv"])
    assert [e["path"] for e in _sidecar(repo)["eval_data"]] == ["data/val.csv"]  # type: ignore[union-attr]
    with ckptgit.Tracker("clf", eval_data=["val=data/val.csv"]) as run:
        repo.model(seed=5)
        run.save(MODEL, metrics={"val": {"acc": 0.9}})
        run.wait()
    [entry] = _sidecar(repo)["eval_data"]  # type: ignore[misc]
    assert entry["path"] == "data/val.csv" and entry["metrics"] == "val"


def test_promote_warns_against_the_holder_and_refuses_per_config(repo: Repo,
                                                                 tmp_path: Path) -> None:
    from test_policy import _signing

    _signing(repo, tmp_path)
    _data(repo, "data/val.csv", "a\n1\n")
    held = _save(repo, 1, 0.8, "--eval-data", "data/val.csv")
    repo.ckpt_ok("promote", held["id"], "--stage", "dev", "--rationale", "first")
    same = _save(repo, 2, 0.85, "--eval-data", "data/val.csv")
    out = repo.ckpt_ok("promote", same["id"], "--stage", "dev", "--rationale", "same data",
                       "--json")
    assert "warnings" not in out.json()
    _data(repo, "data/val.csv", "a\n2\n")
    other = _save(repo, 3, 0.95, "--eval-data", "data/val.csv")
    res = repo.ckpt_ok("promote", other["id"], "--stage", "dev", "--rationale", "new", "--json")
    [warning] = res.json()["warnings"]
    assert warning["kind"] == "different" and warning["a"] == same["id"][:8]
    _config(repo, "comparison:\n  eval_data: refuse\n")
    repo.git("commit", "-q", "-m", "refuse unfair comparisons", ".ckpt/config.yaml")
    _data(repo, "data/val.csv", "a\n3\n")
    refused = _save(repo, 4, 0.97, "--eval-data", "data/val.csv")
    before = repo.git("tag", "-l")
    res = repo.ckpt("promote", refused["id"], "--stage", "dev", "--rationale", "no")
    assert res.code == 4 and "evaluation data" in res.err, res.err
    assert repo.git("tag", "-l") == before  # no tag made


def test_both_callbacks_hand_eval_data_to_their_tracker() -> None:
    from ckptgit.integrations._common import Settings, tracker

    settings = Settings()
    settings.configure("clf", ".", ["data/train.csv"], [], None, None, True,
                       eval_data=["val=data/val.csv"])
    run = tracker("clf", {}, {}, settings.options)
    assert run.eval_data == ["val=data/val.csv"] and run.data == ["data/train.csv"]
