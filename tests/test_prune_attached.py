"""Retention frees a pruned checkpoint's companions and the data only it recorded (``--data``,
``--eval-data``), on a local DVC remote and on S3 (SeaweedFS), and keeps whatever a kept
checkpoint or a pointer in the index or work tree still names."""

from __future__ import annotations

import hashlib
import secrets
import subprocess
from pathlib import Path

from conftest import Repo, git_project
from s3server import S3Server
from test_retention import _remote_objects
from test_s3 import on_s3, use_s3

from ckptgit import storage

MODEL = "models/clf.safetensors"
TOKENIZER = "models/tokenizer.json"


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def _write(repo: Repo, rel: str, text: str, track: bool = False) -> str:
    path = repo.path / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if track:
        subprocess.run(["dvc", "add", "-q", rel], cwd=repo.path, check=True)
    return _md5(text)


def _keep_last_one(repo: Repo) -> None:
    config = repo.path / ".ckpt/config.yaml"
    config.write_text(config.read_text() + "retention:\n  keep_last: 1\n")


def test_prune_frees_companions_and_data_only_pruned_checkpoints_name(repo: Repo) -> None:
    _keep_last_one(repo)
    tok_a = _write(repo, TOKENIZER, '{"v": "a"}')
    train_old = _write(repo, "data/train.csv", "x\n1\n", track=True)
    staged_old = _write(repo, "data/extra.csv", "y\n1\n", track=True)
    live = _write(repo, "data/live.csv", "z\n1\n", track=True)
    repo.model(seed=0)
    first = repo.save(MODEL, "clf", "--with", TOKENIZER, "--data", "data/train.csv",
                      "--data", "data/extra.csv", "--data", "data/live.csv", "--push")
    # a pointer staged for the next commit still names extra.csv's first version
    repo.git("add", "-f", "data/extra.csv.dvc")
    _write(repo, "data/extra.csv", "y\n2\n", track=True)
    tok_b = _write(repo, TOKENIZER, '{"v": "b"}')
    val_old = _write(repo, "data/val.csv", "v\n1\n", track=True)
    _write(repo, "data/train.csv", "x\n2\n", track=True)  # the training set moved on
    repo.model(seed=1)
    second = repo.save(MODEL, "clf", "--with", TOKENIZER, "--eval-data", "data/val.csv",
                       "--data", "data/live.csv", "--push")
    _write(repo, "data/val.csv", "v\n2\n", track=True)
    repo.model(seed=2)  # the kept one shares the tokenizer of the second
    third = repo.save(MODEL, "clf", "--with", TOKENIZER, "--eval-data", "data/val.csv",
                      "--push")
    freed = {tok_a, train_old, val_old}
    stays = {tok_b, staged_old, live, third["artifact"]["md5"]}
    assert freed | stays <= _remote_objects(repo)

    plan = repo.ckpt_ok("prune", "--dry-run", "--json").json()
    assert {c["id"] for c in plan["checkpoints"] if c["action"] == "prune"} == {
        first["id"], second["id"]}
    assert {(a["kind"], a["md5"]) for a in plan["attached"]} == {
        ("companion", tok_a), ("data input", train_old), ("evaluation data", val_old)}
    assert all(storage.object_path(repo.path, m).exists() for m in freed | stays)
    text = repo.ckpt_ok("prune", "--dry-run")
    assert "companion" in text.out and TOKENIZER in text.out and "data/val.csv" in text.out
    # what each sidecar names is cached under .git/ckpt; a damaged cache is read again
    cache = repo.path / ".git" / "ckpt" / "attached-v1.json"
    assert cache.is_file()
    cache.write_text('{"not": [["a list of four"]]')
    again = repo.ckpt_ok("prune", "--dry-run", "--json").json()
    assert again["attached"] == plan["attached"]

    done = repo.ckpt_ok("prune", "--remote", "--json").json()
    on_remote = _remote_objects(repo)
    for md5 in freed:
        assert not storage.object_path(repo.path, md5).exists() and md5 not in on_remote
    for md5 in stays:
        assert storage.object_path(repo.path, md5).exists() and md5 in on_remote
    assert done["freed_remote"] >= sum(len(t) for t in ('{"v": "a"}', "x\n1\n", "v\n1\n"))
    again = repo.ckpt_ok("prune", "--dry-run", "--json").json()
    assert again["count"] == 0 and again["attached"] == []
    assert repo.ckpt_ok("show", second["id"], "--json").json()["pruned"]


def test_prune_frees_companions_on_s3(tmp_path: Path, s3_server: S3Server) -> None:
    repo = Repo(git_project(tmp_path), remote=tmp_path / "unused")
    repo.ckpt_ok("init", "--remote", f"s3://{s3_server.bucket}/{secrets.token_hex(6)}")
    use_s3(repo.path, s3_server)
    _keep_last_one(repo)
    tokens = []
    for i in range(2):
        tokens.append(_write(repo, TOKENIZER, f'{{"v": {i}}}'))
        repo.model(seed=i)
        repo.save(MODEL, "clf", "--with", TOKENIZER, "--push")
    assert set(tokens) <= on_s3(s3_server, repo)
    done = repo.ckpt_ok("prune", "--remote", "--json").json()
    assert [a["md5"] for a in done["attached"]] == [tokens[0]]
    stored = on_s3(s3_server, repo)
    assert tokens[0] not in stored and tokens[1] in stored
