"""Replicated storage: the default DVC remote and its mirrors (``git ckpt remote``).

Local directory remotes for the bookkeeping; two real S3 servers (SeaweedFS) for the writes to
both at once and for failover when one is stopped mid-test.
"""

from __future__ import annotations

import secrets
import shutil
from contextlib import ExitStack
from pathlib import Path

import pytest
from conftest import Repo, git, git_project
from governance_fixtures import bare_remote, push
from s3server import S3Server, S3ServerError, seaweed

MODEL = "models/clf.safetensors"


def objects(remote: Path) -> set[str]:
    base = remote / "files" / "md5"
    return {p.parent.name + p.name for p in base.rglob("*") if p.is_file()} if base.exists() \
        else set()


def dvc_remotes(root: Path) -> dict[str, str]:
    """What DVC itself reads from the config (not our parser)."""
    from dvc.config import Config

    return {n: c["url"] for n, c in Config(str(root / ".dvc"))["remote"].items()}


@pytest.fixture
def mirrored(repo: Repo, tmp_path: Path) -> tuple[Repo, Path]:
    mirror = tmp_path / "mirror-remote"
    repo.ckpt_ok("remote", "add", "--mirror", "--name", "eu", str(mirror))
    return repo, mirror


def test_remote_add_list_remove_keep_dvc_config_in_dvc_format(mirrored: tuple[Repo, Path]
                                                              ) -> None:
    repo, mirror = mirrored
    assert dvc_remotes(repo.path) == {"ckpt": str(repo.remote), "eu": str(mirror)}
    listed = repo.ckpt_ok("remote", "list", "--json").json()
    assert [(r["name"], r["role"]) for r in listed] == [("ckpt", "default"), ("eu", "mirror")]
    assert "eu" in (repo.path / ".ckpt" / "remotes.yaml").read_text()
    repo.ckpt_ok("remote", "remove", "eu")
    assert dvc_remotes(repo.path) == {"ckpt": str(repo.remote)}
    assert repo.ckpt_ok("remote", "list", "--json").json() == [
        {"name": "ckpt", "url": str(repo.remote), "role": "default"}]


def test_remote_add_without_mirror_repoints_the_default(repo: Repo, tmp_path: Path) -> None:
    moved = tmp_path / "new-home"
    repo.ckpt_ok("remote", "add", str(moved))
    assert dvc_remotes(repo.path) == {"ckpt": str(moved)}
    repo.model()
    saved = repo.save(MODEL, "clf", "--push")
    assert objects(moved) == {saved["artifact"]["md5"]}


def test_hostile_remote_arguments_are_refused(mirrored: tuple[Repo, Path]) -> None:
    repo, mirror = mirrored
    for args in (["--mirror", "--name", "ckpt", "/tmp/x"], ["--mirror", str(mirror)],
                 ["--mirror", "--name", "../x", "/tmp/y"], ["/tmp/a\nb"]):
        res = repo.ckpt("remote", "add", *args)
        assert res.code == 2, (args, res)
    res = repo.ckpt("remote", "remove", "ckpt")  # the default, while a mirror is left
    assert res.code == 2 and "default" in res.err
    assert repo.ckpt("remote", "remove", "nope").code == 2


def test_save_push_writes_every_replica(mirrored: tuple[Repo, Path]) -> None:
    repo, mirror = mirrored
    repo.model()
    saved = repo.save(MODEL, "clf", "--push", "--jobs", "2")
    assert objects(repo.remote) == objects(mirror) == {saved["artifact"]["md5"]}
    report = repo.ckpt("verify", "--remote", "--json")
    assert report.code == 0, report
    assert report.json()["replicas"] == [
        {"id": saved["id"], "name": "clf", "held_by": ["ckpt", "eu"], "missing_from": []}]


def test_pre_push_hook_writes_every_replica(mirrored: tuple[Repo, Path], tmp_path: Path) -> None:
    repo, mirror = mirrored
    repo.git("add", ".dvc/config", ".ckpt/remotes.yaml")
    repo.git("commit", "-qm", "mirror eu")
    repo.model()
    saved = repo.save(MODEL, "clf")  # not pushed
    assert objects(mirror) == set()
    bare_remote(repo, tmp_path)
    done = push(repo, "main")
    assert done.returncode == 0, done.stderr
    assert objects(repo.remote) == objects(mirror) == {saved["artifact"]["md5"]}


def test_pre_push_with_a_broken_mirror_refuses_and_still_fills_the_others(
        repo: Repo, tmp_path: Path) -> None:
    """The replicas are written at once: one that cannot be written stops the push with its
    name, and does not keep the bytes from the replicas that can."""
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the mirror's directory should be\n")
    good = tmp_path / "good-mirror"
    # the broken one first: one after another, the good mirror would never be written
    repo.ckpt_ok("remote", "add", "--mirror", "--name", "us", str(blocker / "remote"))
    repo.ckpt_ok("remote", "add", "--mirror", "--name", "eu", str(good))
    repo.git("add", ".dvc/config", ".ckpt/remotes.yaml")
    repo.git("commit", "-qm", "mirrors us and eu")
    repo.model()
    saved = repo.save(MODEL, "clf")  # not pushed
    bare = bare_remote(repo, tmp_path)
    done = push(repo, "main")
    assert done.returncode != 0, done.stderr
    assert "the DVC remote 'us' (a mirror) cannot be reached or written" in done.stderr
    assert git(bare, "for-each-ref", "refs/heads/main") == ""  # the ref did not go ahead
    assert objects(repo.remote) == objects(good) == {saved["artifact"]["md5"]}


def test_verify_remote_names_the_replica_that_lacks_a_checkpoint(
        mirrored: tuple[Repo, Path]) -> None:
    repo, mirror = mirrored
    repo.model()
    saved = repo.save(MODEL, "clf", "--push")
    shutil.rmtree(mirror / "files")
    res = repo.ckpt("verify", "--remote")
    assert res.code == 1, res
    assert f"clf {saved['id'][:8]}: not on eu" in res.out


def fresh_clone(repo: Repo, name: str) -> Repo:
    dest = repo.path.parent / name
    repo.git("add", ".dvc/config", ".ckpt/remotes.yaml")
    repo.git("commit", "-qm", "replicas")
    git(repo.path.parent, "clone", "-q", str(repo.path), str(dest))
    return Repo(dest, repo.remote)


def test_restore_fails_over_to_the_mirror(mirrored: tuple[Repo, Path]) -> None:
    repo, mirror = mirrored
    original = repo.model().read_bytes()
    repo.save(MODEL, "clf", "--push")
    clone = fresh_clone(repo, "clone")
    shutil.rmtree(repo.remote)  # the default region is gone
    clone.ckpt_ok("restore", "clf")
    assert (clone.path / MODEL).read_bytes() == original


def test_a_mirror_serving_other_bytes_is_refused(mirrored: tuple[Repo, Path]) -> None:
    repo, mirror = mirrored
    repo.model()
    saved = repo.save(MODEL, "clf", "--push")
    md5 = saved["artifact"]["md5"]
    obj = mirror / "files" / "md5" / md5[:2] / md5[2:]
    obj.chmod(0o644)
    obj.write_bytes(obj.read_bytes()[:-1] + b"\x00")
    clone = fresh_clone(repo, "clone")
    shutil.rmtree(repo.remote)
    res = clone.ckpt("restore", "clf")
    assert res.code == 3, res  # each object's md5 is checked before it enters the cache
    assert f"object {md5} is corrupt" in res.err, res
    assert obj.exists()  # named and left in place on the mirror, never deleted
    assert not (clone.path / MODEL).exists()
    assert not (clone.path / MODEL).exists()
    from ckptgit import storage

    assert not storage.object_path(clone.path, md5).exists()  # nothing corrupt was cached


def test_restore_with_no_replica_holding_the_bytes_is_one_line(mirrored: tuple[Repo, Path]
                                                               ) -> None:
    repo, mirror = mirrored
    repo.model()
    repo.save(MODEL, "clf")  # never pushed
    clone = fresh_clone(repo, "clone")
    res = clone.ckpt("restore", "clf")
    assert res.code == 3, res
    assert len(res.err.strip().splitlines()) == 1
    assert "ckpt: objects missing" in res.err and "eu: objects missing" in res.err


# -- two real S3 servers ------------------------------------------------------------------------
def s3_keys(root: Path, name: str, server: S3Server) -> None:
    from dvc.config import Config

    with Config(str(root / ".dvc")).edit("local") as conf:
        conf.setdefault("remote", {}).setdefault(name, {}).update(
            endpointurl=server.endpoint, access_key_id=server.key,
            secret_access_key=server.secret)


def test_two_s3_replicas_one_stopped_mid_test(tmp_path: Path, s3_server: S3Server) -> None:
    prefix = secrets.token_hex(6)
    with ExitStack() as stack:
        try:
            other = stack.enter_context(seaweed(tmp_path / "s3-a", "ckpt-a", limit_s=900))
        except S3ServerError as exc:
            pytest.fail(f"no second S3 server: {exc}", pytrace=False)
        repo = Repo(git_project(tmp_path), remote=tmp_path / "unused")
        repo.ckpt_ok("init", "--remote", f"s3://{other.bucket}/{prefix}")
        s3_keys(repo.path, "ckpt", other)
        repo.ckpt_ok("remote", "add", "--mirror", "--name", "b",
                     f"s3://{s3_server.bucket}/{prefix}")
        s3_keys(repo.path, "b", s3_server)
        original = repo.model().read_bytes()
        saved = repo.save(MODEL, "clf", "--push")
        held = repo.ckpt_ok("verify", "--remote", "--json").json()["replicas"]
        assert held[0]["held_by"] == ["ckpt", "b"]
        clone = fresh_clone(repo, "clone")
        s3_keys(clone.path, "ckpt", other)
        s3_keys(clone.path, "b", s3_server)
        stack.close()  # server A stops: the default replica no longer answers
        res = clone.ckpt("verify", "--remote", "--json")
        assert res.code != 0  # the default remote's bytes cannot be read any more
        assert res.json()["replicas"][0]["missing_from"] == ["ckpt"]
        clone.ckpt_ok("restore", "clf")
        assert (clone.path / MODEL).read_bytes() == original
        assert saved["artifact"]["sha256"] == clone.ckpt_ok("show", "clf", "--json").json()[
            "artifact"]["sha256"]
        writes_with_a_replica_stopped(repo, tmp_path, s3_server, prefix)


def writes_with_a_replica_stopped(repo: Repo, tmp_path: Path, mirror: S3Server,
                                  prefix: str) -> None:
    """The default replica is down: ``save --push`` and the pre-push hook each fail with one
    line naming it (no retrying for minutes), and the mirror, written at the same time, holds
    the new bytes all the same."""
    repo.model(seed=7)
    res = repo.ckpt("save", MODEL, "--name", "clf", "--push")
    assert res.code == 1, res
    assert len(res.err.strip().splitlines()) == 1 and "'ckpt'" in res.err, res.err
    assert "saved locally" in res.err and "Traceback" not in res.err
    md5 = repo.ckpt_ok("show", "clf", "--json").json()["artifact"]["md5"]
    assert md5 in s3_objects(mirror, prefix)
    git(tmp_path, "init", "-q", "--bare", str(tmp_path / "plain.git"))
    repo.git("remote", "add", "origin", str(tmp_path / "plain.git"))
    done = push(repo, "main")
    assert done.returncode != 0, done.stderr
    refused = [ln for ln in done.stderr.splitlines() if "'ckpt' cannot be reached" in ln]
    assert len(refused) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "(a mirror)" not in done.stderr  # the mirror holds everything: no problem there
    assert "main" not in git(tmp_path / "plain.git", "branch", "--list", "main")


def s3_objects(server: S3Server, prefix: str) -> set[str]:
    """Object ids under ``prefix`` of the server's bucket, listed by DVC's own S3 client."""
    from s3fs import S3FileSystem

    fs = S3FileSystem(key=server.key, secret=server.secret,
                      client_kwargs={"endpoint_url": server.endpoint})
    found = fs.find(f"{server.bucket}/{prefix}/files/md5")
    return {"".join(p.split("/")[-2:]) for p in found}


def shards(root: Path, count: int = 3) -> dict[str, bytes]:
    """A directory checkpoint: ``count`` shards of random bytes and a small config."""
    files = {f"model-{i}.bin": secrets.token_bytes(300_000 + i) for i in range(count)}
    files["config.json"] = b'{"shards": 3}\n'
    for rel, data in files.items():
        (root / "models" / "llm" / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / "models" / "llm" / rel).write_bytes(data)
    return files


def test_restore_fetches_ranged_parts_and_shards_in_parallel(
        mirrored: tuple[Repo, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    from ckptgit import storage

    repo, _ = mirrored
    files = shards(repo.path)
    big = secrets.token_bytes(1_000_003)
    (repo.path / "models" / "big.bin").write_bytes(big)
    repo.save("models/llm", "llm", "--push", "--jobs", "3")
    repo.save("models/big.bin", "big", "--push")
    clone = fresh_clone(repo, "clone")
    monkeypatch.setattr(storage, "PART", 64 << 10)  # 16 ranged reads, 4 in flight at a time
    clone.ckpt_ok("restore", "big", "--jobs", "2")
    assert (clone.path / "models" / "big.bin").read_bytes() == big
    clone.ckpt_ok("restore", "llm", "--jobs", "4")  # a shard per job
    assert {p.name: p.read_bytes() for p in (clone.path / "models" / "llm").iterdir()} == files
    # one job: ranged reads one after another, in order
    shutil.rmtree(clone.path / ".dvc" / "cache")
    shutil.rmtree(clone.path / "models")
    clone.ckpt_ok("restore", "big", "--jobs", "1")
    clone.ckpt_ok("restore", "llm", "--jobs", "1")
    assert (clone.path / "models" / "big.bin").read_bytes() == big
    assert {p.name: p.read_bytes() for p in (clone.path / "models" / "llm").iterdir()} == files


def test_a_corrupt_part_of_a_shard_is_refused(mirrored: tuple[Repo, Path],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from ckptgit import storage

    repo, mirror = mirrored
    shards(repo.path)
    saved = repo.save("models/llm", "llm", "--push")
    md5 = next(m for rel, m in storage.dir_entries(repo.path, saved["artifact"]["md5"])
               if rel == "model-1.bin")
    for remote in (repo.remote, mirror):  # the same byte flipped in the last part everywhere
        obj = remote / "files" / "md5" / md5[:2] / md5[2:]
        obj.chmod(0o644)
        data = bytearray(obj.read_bytes())
        data[-10] ^= 0xFF
        obj.write_bytes(bytes(data))
    clone = fresh_clone(repo, "clone")
    monkeypatch.setattr(storage, "PART", 64 << 10)
    res = clone.ckpt("restore", "llm", "--jobs", "4")
    assert res.code == 3, res
    assert f"object {md5} is corrupt" in res.err and len(res.err.strip().splitlines()) == 1
    assert not storage.object_path(clone.path, md5).exists()
    assert not (clone.path / "models" / "llm").exists()


def test_shard_sizes_a_listing_understates_are_read_in_full(
        mirrored: tuple[Repo, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """A listing's sizes only spare a size request: one that is wrong (hostile or stale)
    costs a second read, never a short or unbounded one."""
    from ckptgit import storage

    repo, _ = mirrored
    files = shards(repo.path)
    repo.save("models/llm", "llm", "--push")
    clone = fresh_clone(repo, "clone")
    monkeypatch.setattr(storage, "PART", 64 << 10)  # each shard is bigger than one request

    def understated(root: Path, oid: str) -> dict[str, int]:
        return {m: 100 for _, m in storage.dir_entries(root, oid)}

    monkeypatch.setattr(storage, "_listed_sizes", understated)
    clone.ckpt_ok("restore", "llm")
    assert {p.name: p.read_bytes() for p in (clone.path / "models" / "llm").iterdir()} == files


def test_a_shard_missing_from_every_replica_is_one_line(mirrored: tuple[Repo, Path]) -> None:
    from ckptgit import storage

    repo, mirror = mirrored
    shards(repo.path)
    saved = repo.save("models/llm", "llm", "--push")
    md5 = next(m for rel, m in storage.dir_entries(repo.path, saved["artifact"]["md5"])
               if rel == "model-2.bin")
    for remote in (repo.remote, mirror):
        (remote / "files" / "md5" / md5[:2] / md5[2:]).unlink()
    clone = fresh_clone(repo, "clone")
    res = clone.ckpt("restore", "llm")
    assert res.code == 3, res
    assert len(res.err.strip().splitlines()) == 1 and "missing" in res.err, res.err
    assert not (clone.path / "models" / "llm").exists()


def test_restore_jobs_must_be_positive(repo: Repo) -> None:
    repo.model()
    repo.save(MODEL, "clf")
    assert repo.ckpt("restore", "clf", "--jobs", "0").code == 2
