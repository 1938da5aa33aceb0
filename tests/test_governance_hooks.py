"""Hooks with real keys, a real bare remote guarded by our pre-receive and real ``git push``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Repo, git, make_repo
from governance_fixtures import (
    Keys,
    bare_remote,
    govern,
    promote_message,
    push,
    raw_tag,
    use_key,
)


@pytest.fixture
def served(tmp_path: Path, keys: Keys) -> tuple[Repo, Path, dict]:
    """A governed repo with one saved checkpoint, pushed to a guarded bare remote."""
    repo = make_repo(tmp_path)
    govern(repo, keys)
    repo.model()
    saved = repo.save("models/clf.safetensors", "clf")
    bare = bare_remote(repo, tmp_path)
    done = push(repo, "main")
    assert done.returncode == 0, done.stderr
    return repo, bare, saved


def test_good_promotion_is_accepted(served: tuple[Repo, Path, dict]) -> None:
    repo, bare, saved = served
    repo.ckpt_ok("promote", "clf", "--stage", "dev", "--rationale", "baseline")
    done = push(repo, "main", "refs/tags/clf#dev#1")
    assert done.returncode == 0, done.stderr
    listed = subprocess.run(["git", "tag", "-l"], cwd=bare, capture_output=True, text=True)
    assert "clf#dev#1" in listed.stdout.split()


@pytest.mark.parametrize("case", ["unsigned", "foreign", "revoked", "no-rationale", "backdated",
                                  "wrong-stage-signer", "too-few-approvals"])
def test_server_rejects_bad_tags(served: tuple[Repo, Path, dict], keys: Keys, case: str) -> None:
    repo, bare, saved = served
    stage, approvers, rationale, date, sign = "dev", (), "ok", None, True
    if case == "unsigned":
        sign = False
    elif case == "foreign":
        use_key(repo.path, keys, "mallory")
    elif case == "revoked":
        use_key(repo.path, keys, "rob")
    elif case == "no-rationale":
        rationale = None
    elif case == "backdated":
        date = "2001-01-01T00:00:00Z"
    elif case == "wrong-stage-signer":
        stage, approvers = "canary", ("carol@example.com",)
        use_key(repo.path, keys, "bob")
    elif case == "too-few-approvals":
        stage = "canary"
    made = raw_tag(repo.path, f"clf#{stage}#1", saved["commit"],
                   promote_message(saved["id"], stage, rationale, approvers), sign=sign,
                   date=date)
    assert made.returncode == 0, made.stderr
    done = push(repo, "--no-verify", f"refs/tags/clf#{stage}#1")
    assert done.returncode != 0
    expected = {"unsigned": "not signed", "foreign": "not allowed", "revoked": "revoked",
                "no-rationale": "no Rationale", "backdated": "server time",
                "wrong-stage-signer": "not allowed", "too-few-approvals": "needs 1"}[case]
    assert "remote: ckpt pre-receive: refused: clf#" in done.stderr
    assert expected in done.stderr, done.stderr
    assert not (bare / "refs" / "tags" / f"clf#{stage}#1").exists()


def test_server_refuses_tag_deletion_and_move(served: tuple[Repo, Path, dict]) -> None:
    repo, bare, saved = served
    repo.ckpt_ok("promote", "clf", "--stage", "dev", "--rationale", "baseline")
    assert push(repo, "main", "refs/tags/clf#dev#1").returncode == 0
    done = push(repo, "--no-verify", ":refs/tags/clf#dev#1")
    assert done.returncode != 0 and "never deleted" in done.stderr, done.stderr
    repo.git("tag", "-f", "-a", "-m", "moved", "clf#dev#1", "HEAD~1")
    done = push(repo, "--no-verify", "--force", "refs/tags/clf#dev#1")
    assert done.returncode != 0 and "never moved" in done.stderr, done.stderr


def test_server_refuses_force_push_of_protected_branch(served: tuple[Repo, Path, dict]) -> None:
    repo, bare, _ = served
    repo.git("commit", "-q", "--amend", "--no-verify", "-m", "rewritten history")
    done = push(repo, "--no-verify", "--force", "main")
    assert done.returncode != 0
    assert "fast-forward only" in done.stderr, done.stderr


def test_client_pre_push_refuses_unsigned_tag(served: tuple[Repo, Path, dict]) -> None:
    repo, _, saved = served
    raw_tag(repo.path, "clf#dev#1", saved["commit"], promote_message(saved["id"], "dev"),
            sign=False)
    done = push(repo, "refs/tags/clf#dev#1")
    assert done.returncode != 0
    assert "ckpt pre-push: refused: clf#dev#1: not signed" in done.stderr, done.stderr


def test_pre_commit_refuses_weights_and_edited_sidecars(tmp_path: Path, keys: Keys) -> None:
    repo = make_repo(tmp_path)
    govern(repo, keys)
    repo.model()
    repo.save("models/clf.safetensors", "clf")
    big = repo.model("models/other.pt")  # real git commit, real hook: over the 4 KiB limit
    big.write_bytes(b"\0" * 8192)
    repo.git("add", "-f", "models/other.pt")
    done = subprocess.run(["git", "commit", "-q", "-m", "weights"], cwd=repo.path,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert "models/other.pt (8,192 bytes) is model weights" in done.stderr, done.stderr
    repo.git("rm", "-q", "--cached", "models/other.pt")
    side = repo.path / "models" / "clf.safetensors.ckpt.yaml"
    side.write_text(side.read_text().replace("metrics: {}", "metrics:\n  acc: 0.99"))
    repo.git("add", str(side))
    done = subprocess.run(["git", "commit", "-q", "-m", "better metrics"], cwd=repo.path,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert "recorded fields of saved checkpoint" in done.stderr and "(metrics)" in done.stderr
    side.write_text(side.read_text().replace("metrics:\n  acc: 0.99", "metrics: {}")
                    .replace("labels: []", "labels:\n- reviewed"))
    repo.git("add", str(side))
    repo.git("commit", "-q", "-m", "labels may change")


def test_pre_commit_without_checkpoint_files_takes_the_light_path(repo: Repo) -> None:
    """Its speed is measured in benchmarks/governance.py; here: it passes and loads no YAML,
    config or DVC when no checkpoint or weight file is staged (what keeps it under 100 ms)."""
    (repo.path / "train.py").write_text("print('v2')\n")
    repo.git("add", "train.py")
    hook = repo.path / ".git" / "hooks" / "pre-commit"
    done = subprocess.run([str(hook)], cwd=repo.path, capture_output=True, check=False)
    assert done.returncode == 0, done.stderr
    probe = ("import sys; from ckptgit.main import main; code = main(['hook', 'pre-commit']); "
             "heavy = ('yaml', 'dvc', 'ckptgit.config'); "
             "print(code, sorted(m for m in heavy if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=repo.path, capture_output=True,
                         text=True, check=True).stdout.strip()
    assert out == "0 []", out


@pytest.mark.parametrize("mode", ["check", "auto"])
def test_pre_push_bytes_on_dvc_remote(tmp_path: Path, keys: Keys, mode: str) -> None:
    repo = make_repo(tmp_path)
    govern(repo, keys)
    cfg = repo.path / ".ckpt" / "config.yaml"
    cfg.write_text(cfg.read_text().replace("push: auto", f"push: {mode}"))
    repo.git("commit", "-q", "-S", "--allow-empty", "-am", f"push: {mode}")  # by the admin
    repo.model()
    saved = repo.save("models/clf.safetensors", "clf")  # not pushed to the DVC remote
    bare = bare_remote(repo, tmp_path)
    done = push(repo, "main")
    md5 = saved["artifact"]["md5"]
    on_remote = (repo.remote / "files" / "md5" / md5[:2] / md5[2:]).exists()
    if mode == "check":
        assert done.returncode == 1
        assert "models/clf.safetensors.dvc at" in done.stderr
        assert "bytes are not on the DVC remote" in done.stderr
        assert not on_remote
    else:
        assert done.returncode == 0, done.stderr
        assert on_remote
    del bare


def test_whole_flow_through_a_guarded_remote_and_a_fresh_clone(served: tuple[Repo, Path, dict],
                                                                tmp_path: Path,
                                                                keys: Keys) -> None:
    import json

    from conftest import BIN, git
    from governance_fixtures import signed

    repo, bare, v1 = served
    approvals = {"canary": ("bob",), "production": ("bob", "carol")}

    def climb(ref: str) -> None:
        for stage in ("dev", "staging"):
            repo.ckpt_ok("promote", ref, "--stage", stage, "--rationale", f"{ref} ok")
        for stage in ("canary", "production"):
            res = signed(repo, keys, ref, "--stage", stage, "--rationale", f"{ref} ok",
                         approvers=approvals[stage])
            assert res.code == 0, res.err

    climb(v1["id"])
    repo.model(seed=5)
    v2 = repo.save("models/clf.safetensors", "clf")
    climb(v2["id"])
    for stage in ("canary", "production"):
        res = signed(repo, keys, "clf", "--stage", stage, "--revert-to", v1["id"],
                     "--rationale", f"roll back {stage}", approvers=approvals[stage])
        assert res.code == 0, res.err
    done = push(repo, "main", "--tags")  # client pre-push checks all ten tags and the bytes
    assert done.returncode == 0, done.stderr
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(bare), str(clone))
    events = json.loads(subprocess.run(["git", "ckpt", "history", "clf", "--json"], cwd=clone,
                                       capture_output=True, text=True, check=True).stdout)
    assert [e["action"] for e in events].count("revert") == 2
    stage_events = [e for e in events if e["action"] != "register"]  # versions: by default
    assert all(e["signer"] == "alice@example.com" and e["rationale"] for e in stage_events)
    shown = json.loads(subprocess.run([f"{BIN}/gto", "show", "--json"], cwd=clone,
                                      capture_output=True, text=True, check=True).stdout)
    stages = shown["clf"]["stage"]
    # promotions register versions by default, so GTO names them by version
    assert stages["production"] == stages["canary"] == "v0.0.1"
    assert stages["dev"] == stages["staging"] == "v0.0.2"


def test_server_refuses_commits_whose_bytes_are_not_on_the_dvc_remote(tmp_path: Path,
                                                                      keys: Keys) -> None:
    repo = make_repo(tmp_path)
    govern(repo, keys)
    repo.model()
    saved = repo.save("models/clf.safetensors", "clf")  # bytes only in the local cache
    bare = bare_remote(repo, tmp_path)
    assert (bare / "ckpt-trusted" / "dvc" / ".dvc" / "config").is_file()
    done = push(repo, "--no-verify", "main")  # client hooks skipped: the server still checks
    assert done.returncode == 1
    assert "remote: ckpt pre-receive: refused:" in done.stderr
    assert "models/clf.safetensors.dvc at" in done.stderr
    assert "bytes are not on the DVC remote" in done.stderr
    assert git(bare, "rev-parse", "--verify", "--quiet", "refs/heads/main", check=False) == ""
    subprocess.run(["dvc", "push", "-q"], cwd=repo.path, check=True)
    done = push(repo, "--no-verify", "main")
    assert done.returncode == 0, done.stderr
    assert git(bare, "rev-parse", "refs/heads/main").strip() == saved["commit"]
