"""The command line as users run it: ``git ckpt`` found by git on PATH, help, the error boundary."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import Repo


def test_git_finds_git_ckpt_and_the_main_job_works(repo: Repo) -> None:
    repo.model()
    done = repo.run_git_ckpt("save", "models/clf.safetensors", "--name", "clf",
                             "--metric", "acc=0.9", "--json")
    assert done.returncode == 0, done.stderr
    saved = json.loads(done.stdout)
    assert saved["commit"] == repo.git("rev-parse", "HEAD").strip()
    listed = repo.run_git_ckpt("list", "--json")
    assert [c["id"] for c in json.loads(listed.stdout)] == [saved["id"]]
    table = repo.run_git_ckpt("list")
    assert table.returncode == 0 and saved["id"][:8] in table.stdout
    shown = repo.run_git_ckpt("show", "clf")
    assert shown.returncode == 0 and saved["id"] in shown.stdout and "metrics:" in shown.stdout
    (repo.path / "models" / "clf.safetensors").unlink()
    restored = repo.run_git_ckpt("restore", "clf")
    assert restored.returncode == 0 and "sha256 verified" in restored.stdout
    bad = repo.run_git_ckpt("show", "nosuch")
    assert bad.returncode == 2
    assert bad.stderr.startswith("error: unknown checkpoint reference 'nosuch'")
    assert len(bad.stderr.strip().splitlines()) == 1


def test_help_does_not_import_dvc_numpy_or_deepdiff() -> None:
    code = ("import sys; sys.argv = ['git-ckpt', '--help']\n"
            "from ckptgit.main import entry\n"
            "try:\n    entry()\nexcept SystemExit:\n    pass\n"
            "heavy = sorted({m.split('.')[0] for m in sys.modules} & "
            "{'dvc', 'dvc_data', 'numpy', 'deepdiff', 'safetensors', 'jsonschema', 'rich'})\n"
            "print('HEAVY', heavy)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert "Commands" in done.stdout and "save" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "HEAVY []"


def test_help_of_a_subcommand_and_version(repo: Repo) -> None:
    res = repo.ckpt("save", "-h")
    assert res.code == 0 and "--metrics" in res.out and "Examples" in res.out
    res = repo.ckpt("--version")
    assert res.code == 0 and "git ckpt" in res.out


def test_unknown_command_and_missing_option_are_usage_errors(repo: Repo) -> None:
    assert repo.ckpt("frobnicate").code == 2
    assert repo.ckpt("save", "models/clf.safetensors").code == 2  # --name is required


def test_dash_c_runs_elsewhere(repo: Repo) -> None:
    repo.model()
    res = repo.ckpt("-C", str(repo.path), "save", "models/clf.safetensors", "--name", "clf",
                    cwd=repo.path.parent)
    assert res.code == 0, res.err
    res = repo.ckpt("-C", str(repo.path / "nope"), "list")
    assert res.code == 1 and res.err.startswith("error: cannot change to")


def test_unexpected_errors_are_one_line(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    import ckptgit.ops.list as list_op

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire\nsecond line")

    monkeypatch.setattr(list_op, "listed", broken)  # a fault injected at a seam
    res = repo.ckpt("list")
    assert res.code == 1
    assert res.err == ("error: unexpected RuntimeError: disk on fire (rerun with --traceback "
                       "and report it)\n")
    with pytest.raises(RuntimeError):
        repo.ckpt("--traceback", "list")
