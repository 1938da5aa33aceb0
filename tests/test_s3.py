"""Checkpoint bytes on a real S3 server: save --push, restore in a fresh clone, pre-push.

One SeaweedFS server serves the session (``s3_server``); each test gets its own prefix of
its bucket as the DVC remote, set by ``git ckpt init --remote s3://…``, with the endpoint and
keys in DVC's ``--local`` config as a user keeps them (never committed).
"""

from __future__ import annotations

import os
import secrets
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import Repo, git, git_project
from governance_fixtures import bare_remote, push
from s3server import S3Server

from ckptgit import storage
from ckptgit.governance.refupdates import TRUSTED_DIR

MODEL = "models/clf.safetensors"


@pytest.fixture
def s3_repo(tmp_path: Path, s3_server: S3Server) -> Repo:
    prefix = secrets.token_hex(6)
    repo = Repo(git_project(tmp_path), remote=tmp_path / "unused")
    repo.ckpt_ok("init", "--remote", f"s3://{s3_server.bucket}/{prefix}")
    use_s3(repo.path, s3_server)
    return repo


def use_s3(root: Path, server: S3Server) -> None:
    """Endpoint and keys of the default remote in ``root``'s DVC --local config."""
    from dvc.config import Config

    with Config(str(root / ".dvc")).edit("local") as conf:
        conf.setdefault("remote", {}).setdefault(storage.DEFAULT_REMOTE, {}).update(
            endpointurl=server.endpoint, access_key_id=server.key,
            secret_access_key=server.secret)


def on_s3(server: S3Server, repo: Repo) -> set[str]:
    """The md5 of every object under the repo's prefix, listed by plain S3 (not DVC)."""
    prefix = remote_url(repo).removeprefix(f"s3://{server.bucket}/") + "/files/md5/"
    client = s3_client(server)
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=server.bucket, Prefix=prefix)
    return {o["Key"][len(prefix):].replace("/", "") for p in pages for o in p.get("Contents", [])}


def remote_url(repo: Repo) -> str:
    from dvc.config import Config

    return str(Config(str(repo.path / ".dvc"))["remote"][storage.DEFAULT_REMOTE]["url"])


def clone(repo: Repo, server: S3Server, name: str) -> Repo:
    dest = repo.path.parent / name
    git(repo.path.parent, "clone", "-q", str(repo.path), str(dest))
    use_s3(dest, server)
    return Repo(dest, repo.remote)


def test_save_push_puts_the_object_on_s3(s3_repo: Repo, s3_server: S3Server) -> None:
    s3_repo.model()
    saved = s3_repo.save(MODEL, "clf", "--push")
    assert on_s3(s3_server, s3_repo) == {saved["artifact"]["md5"]}


def test_fresh_clone_restores_from_s3_like_dvc_pull(s3_repo: Repo, s3_server: S3Server) -> None:
    original = s3_repo.model().read_bytes()
    s3_repo.save(MODEL, "clf", "--push")
    ours = clone(s3_repo, s3_server, "clone")
    ours.ckpt_ok("restore", "clf")
    assert (ours.path / MODEL).read_bytes() == original
    plain = clone(s3_repo, s3_server, "plain")
    subprocess.run(["dvc", "pull", "-q"], cwd=plain.path, check=True)
    assert (plain.path / MODEL).read_bytes() == original


def test_restore_when_s3_lacks_the_object_is_exit_3(s3_repo: Repo, s3_server: S3Server) -> None:
    s3_repo.model()
    s3_repo.save(MODEL, "clf")  # not pushed
    assert on_s3(s3_server, s3_repo) == set()
    fresh = clone(s3_repo, s3_server, "clone")
    res = fresh.run_git_ckpt("restore", "clf")  # a real process: DVC's own logging shows
    assert res.returncode == 3, res
    assert res.stderr.startswith("error: bytes of clf"), res.stderr
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert "dvc push" in res.stderr
    assert not (fresh.path / MODEL).exists()


def test_pre_push_puts_bytes_on_s3_before_the_ref_leaves(s3_repo: Repo, s3_server: S3Server,
                                                         tmp_path: Path) -> None:
    s3_repo.model()
    saved = s3_repo.save(MODEL, "clf")  # not pushed; the config says `push: auto`
    bare = bare_remote(s3_repo, tmp_path)  # its pre-receive checks S3 with its own keys
    use_s3(bare / TRUSTED_DIR / "dvc", s3_server)
    skipped = push(s3_repo, "--no-verify", "main")
    assert skipped.returncode != 0
    assert "bytes are not on the DVC remote" in skipped.stderr
    done = push(s3_repo, "main")
    assert done.returncode == 0, done.stderr
    assert on_s3(s3_server, s3_repo) == {saved["artifact"]["md5"]}
    assert git(bare, "rev-parse", "main") == s3_repo.git("rev-parse", "main")


def test_team_path_on_s3_artifact_companion_and_data_reach_a_fresh_clone(
        s3_repo: Repo, s3_server: S3Server, tmp_path: Path) -> None:
    """A bare sha pushed over a shared (non-local) git URL: the hook sends every byte to S3,
    the server checks S3 with its own keys, and a third clone's plain ``dvc pull`` matches."""
    root = s3_repo.path
    (root / "data").mkdir()
    (root / "data" / "train.csv").write_text("x,y\n1,2\n")
    subprocess.run(["dvc", "add", "-q", "data/train.csv"], cwd=root, check=True)
    s3_repo.git("add", "data/train.csv.dvc", "data/.gitignore")
    s3_repo.git("commit", "-q", "-m", "data")
    s3_repo.model()
    (root / "models" / "tokenizer.json").write_text('{"vocab": ["a"]}\n')
    saved = s3_repo.save(MODEL, "clf", "--data", "data/train.csv", "--with",
                         "models/tokenizer.json")
    bare = bare_remote(s3_repo, tmp_path)
    use_s3(bare / TRUSTED_DIR / "dvc", s3_server)
    s3_repo.git("config", "protocol.ext.allow", "always")
    done = subprocess.run(["git", "push", f"ext::git %s {bare}",
                           f"{saved['commit']}:refs/heads/main"], cwd=root,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert len(on_s3(s3_server, s3_repo)) == 3  # artifact, companion, data input
    third = tmp_path / "third"
    git(tmp_path, "clone", "-q", str(bare), str(third))
    use_s3(third, s3_server)
    subprocess.run(["dvc", "pull", "-q"], cwd=third, check=True, capture_output=True)
    for rel in (MODEL, "models/tokenizer.json", "data/train.csv"):
        assert (third / rel).read_bytes() == (root / rel).read_bytes(), rel


def s3_client(server: S3Server) -> Any:
    import botocore.session
    from botocore.config import Config

    return botocore.session.get_session().create_client(
        "s3", endpoint_url=server.endpoint, region_name="us-east-1",
        aws_access_key_id=server.key, aws_secret_access_key=server.secret,
        config=Config(s3={"addressing_style": "path"}))


def test_a_tampered_s3_object_is_exit_3_and_nothing_is_replaced(s3_repo: Repo,
                                                                 s3_server: S3Server) -> None:
    s3_repo.model(seed=0)
    first = s3_repo.save(MODEL, "clf", "--push")
    s3_repo.model(seed=1)
    s3_repo.save(MODEL, "clf", "--push")
    fresh = clone(s3_repo, s3_server, "clone")
    fresh.ckpt_ok("restore", "clf")
    newest = (fresh.path / MODEL).read_bytes()
    md5 = first["artifact"]["md5"]
    key = remote_url(s3_repo).removeprefix(f"s3://{s3_server.bucket}/") + \
        f"/files/md5/{md5[:2]}/{md5[2:]}"
    client = s3_client(s3_server)
    body = bytearray(client.get_object(Bucket=s3_server.bucket, Key=key)["Body"].read())
    body[len(body) // 2] ^= 0x01  # one bit, in the middle of the tensors
    client.put_object(Bucket=s3_server.bucket, Key=key, Body=bytes(body))
    res = fresh.run_git_ckpt("restore", "clf~1")  # a real process, as users run it
    assert res.returncode == 3, res
    assert f"object {md5} is corrupt" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert (fresh.path / MODEL).read_bytes() == newest  # nothing replaced
    assert not storage.object_path(fresh.path, md5).exists()  # nothing planted in the cache


def test_a_cache_object_rewritten_after_its_download_is_hashed_again(
        s3_repo: Repo, s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> None:
    """The seal taken during the download covers the bytes as written; a cache file changed
    between that and the copy out (another process, a race) is read and sealed again."""
    from ckptgit import hashing

    s3_repo.model(seed=0)
    s3_repo.save(MODEL, "clf", "--push")
    fresh = clone(s3_repo, s3_server, "clone")
    (fresh.path / MODEL).write_bytes(b"bytes no checkpoint holds")
    before = sorted(p.name for p in (fresh.path / "models").iterdir())
    real_copy = hashing.copy

    def racing_copy(src: Path, dst: Path) -> None:  # the fault: a writer between the two
        os.chmod(src, 0o644)
        data = bytearray(src.read_bytes())
        data[-1] ^= 0x01
        src.write_bytes(bytes(data))
        real_copy(src, dst)

    monkeypatch.setattr(hashing, "copy", racing_copy)
    res = fresh.ckpt("restore", "clf", "--force")
    assert res.code == 3, res
    assert "do not match the recorded seal" in res.err
    assert (fresh.path / MODEL).read_bytes() == b"bytes no checkpoint holds"
    assert sorted(p.name for p in (fresh.path / "models").iterdir()) == before
