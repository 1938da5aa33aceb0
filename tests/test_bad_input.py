"""Every bad input: one ``error:`` line, the documented exit code, and nothing saved changes."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import Repo, write_model

MODEL = "models/clf.safetensors"


@pytest.fixture
def saved(repo: Repo) -> Repo:
    """A repository that already holds one checkpoint, so 'nothing changed' means something."""
    repo.model()
    repo.save()
    return repo


def _snapshot(repo: Repo) -> tuple[str, str, str, str]:
    return (repo.git("rev-parse", "HEAD"), repo.ckpt_ok("list", "--json").out,
            repo.git("status", "--porcelain", "--ignored"), repo.git("ls-files", "-s"))


def _refused(repo: Repo, *args: str, code: int = 2, cwd: Path | None = None) -> str:
    before = _snapshot(repo)
    res = repo.ckpt(*args, cwd=cwd)
    assert res.code == code, res
    assert res.err.startswith("error: "), res.err
    assert len(res.err.strip().splitlines()) == 1, res.err
    assert "Traceback" not in res.err + res.out
    assert _snapshot(repo) == before
    return res.err


def test_not_a_git_repository(tmp_path: Path) -> None:
    lonely = tmp_path / "lonely"
    lonely.mkdir()
    write_model(lonely / "m.safetensors")
    for args in (["save", "m.safetensors", "--name", "m"], ["list"], ["show", "m"],
                 ["restore", "m"]):
        res = Repo(lonely, tmp_path).ckpt(*args)
        assert res.code == 2 and res.err.startswith("error: not a git repository"), res
        assert len(res.err.strip().splitlines()) == 1
    assert sorted(p.name for p in lonely.iterdir()) == ["m.safetensors"]


def test_path_missing(saved: Repo) -> None:
    err = _refused(saved, "save", "models/nope.safetensors", "--name", "nope")
    assert "no such file" in err


def test_path_outside_the_repository(saved: Repo, tmp_path: Path) -> None:
    outside = write_model(tmp_path / "outside.safetensors")
    err = _refused(saved, "save", "../outside.safetensors", "--name", "out")
    assert "outside the repository" in err
    _refused(saved, "save", str(outside), "--name", "out")


def test_symlink_leaving_the_repository(saved: Repo, tmp_path: Path) -> None:
    outside = write_model(tmp_path / "ext" / "m.safetensors")
    (saved.path / "models" / "link.safetensors").symlink_to(outside)
    err = _refused(saved, "save", "models/link.safetensors", "--name", "link")
    assert "symlink" in err
    (saved.path / "ext").symlink_to(outside.parent, target_is_directory=True)
    err = _refused(saved, "save", "ext/m.safetensors", "--name", "link")
    assert "symlink" in err
    _refused(saved, "save", "ext", "--name", "link")


def test_already_tracked_by_git(saved: Repo) -> None:
    write_model(saved.path / "weights" / "w.safetensors")
    saved.git("add", "weights/w.safetensors")
    saved.git("commit", "-qm", "weights in git, by mistake")
    err = _refused(saved, "save", "weights/w.safetensors", "--name", "w")
    assert "tracked by git" in err and "git rm --cached" in err
    err = _refused(saved, "save", "weights", "--name", "w")
    assert "tracked by git" in err
    err = _refused(saved, "save", "train.py", "--name", "w")
    assert "tracked by git" in err


@pytest.mark.parametrize("path", [".git/config", ".dvc/config", ".ckpt/config.yaml", ".",
                                  f"{MODEL}.dvc", f"{MODEL}.ckpt.yaml"])
def test_paths_we_manage_are_not_artifacts(saved: Repo, path: str) -> None:
    _refused(saved, "save", path, "--name", "meta")


@pytest.mark.parametrize("name", ["Clf", "-clf", "a b", "a/b", "a..b", "x.lock", "clf.",
                                  "é", "a" * 129, "a\nb", "_x", "x#y", "x@v1"])
def test_bad_names(saved: Repo, name: str) -> None:
    saved.model("models/other.safetensors", seed=3)
    err = _refused(saved, "save", "models/other.safetensors", "--name", name)
    assert "invalid checkpoint name" in err


@pytest.mark.parametrize("content,suffix", [
    ('{"acc": 0.9,', ".json"), ("acc: [0.9\n", ".yaml"), ("acc: 0.9\n- x\n", ".yml"),
    ("[1, 2, 3]\n", ".json"), ("- a\n- b\n", ".yaml"), ("just text", ".yaml"),
])
def test_bad_metrics_and_params_files(saved: Repo, content: str, suffix: str) -> None:
    saved.model(seed=9)
    bad = saved.path / f"bad{suffix}"
    bad.write_text(content)
    for flag in ("--metrics", "--params"):
        err = _refused(saved, "save", MODEL, "--name", "clf", flag, bad.name)
        assert bad.name in err


def test_missing_metrics_file(saved: Repo) -> None:
    saved.model(seed=9)
    err = _refused(saved, "save", MODEL, "--name", "clf", "--metrics", "nope.json")
    assert "does not exist" in err


def test_bad_dvclive_output_is_reported(saved: Repo) -> None:
    saved.model(seed=9)
    (saved.path / "dvclive").mkdir()
    (saved.path / "dvclive" / "metrics.json").write_text("{oops")
    err = _refused(saved, "save", MODEL, "--name", "clf")
    assert "dvclive/metrics.json" in err


@pytest.mark.parametrize("pair", ["acc", "=1", " =2"])
def test_bad_pairs(saved: Repo, pair: str) -> None:
    saved.model(seed=9)
    err = _refused(saved, "save", MODEL, "--name", "clf", "--metric", pair)
    assert "KEY=VALUE" in err


def test_bad_label_and_note(saved: Repo) -> None:
    saved.model(seed=9)
    _refused(saved, "save", MODEL, "--name", "clf", "--label", "a\x07b")
    _refused(saved, "save", MODEL, "--name", "clf", "--label", "  ")
    _refused(saved, "save", MODEL, "--name", "clf", "--note", "bell\x07")


def test_unknown_and_ambiguous_refs(saved: Repo) -> None:
    for verb in ("show", "restore"):
        err = _refused(saved, verb, "nosuch")
        assert "unknown checkpoint reference" in err
    saved.model(seed=2)
    err = _refused(saved, "save", MODEL, "--name", "clf", "--parent", "nosuch")
    assert "unknown checkpoint reference" in err
    err = _refused(saved, "restore", "clf~5")
    assert "only 1 saves" in err


def test_empty_directory(saved: Repo) -> None:
    (saved.path / "empty").mkdir()
    err = _refused(saved, "save", "empty", "--name", "empty")
    assert "empty directory" in err


@pytest.mark.parametrize("companion", ["missing/tokenizer.json", "README.md", MODEL])
def test_bad_companion_refused_before_any_bytes_are_stored(saved: Repo, companion: str) -> None:
    cache = saved.path / ".dvc" / "cache"
    objects = sorted(p for p in cache.rglob("*") if p.is_file())
    saved.model(seed=5)  # new bytes: a store that ran would leave a new cache object
    err = _refused(saved, "save", MODEL, "-n", "clf", "--with", companion)
    assert "--with" in err or companion in err
    assert sorted(p for p in cache.rglob("*") if p.is_file()) == objects
