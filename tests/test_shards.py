"""Directory checkpoints of many shards: parallel store, dedup of unchanged shards, per-file
seals, and ``diff --weights`` across two directories reading only the shards that differ."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from conftest import Repo, write_model

from ckptgit import hashing

DIR = "models/llm"


def shards(repo: Repo, seeds: list[int]) -> Path:
    """A sharded checkpoint: one safetensors file per seed (distinct tensor names) + config."""
    root = repo.path / DIR
    for i, seed in enumerate(seeds):
        rng = np.random.default_rng(seed)
        write_model(root / f"model-{i:05d}.safetensors", tensors={
            f"layer.{i}.weight": rng.standard_normal((64, 32)).astype(np.float32),
            f"layer.{i}.bias": rng.standard_normal(64).astype(np.float32)})
    (root / "config.json").write_text(f'{{"layers": {len(seeds)}}}\n')
    return root


def cache_objects(repo: Repo) -> set[Path]:
    cache = repo.path / ".dvc" / "cache" / "files" / "md5"
    return {p for p in cache.rglob("*") if p.is_file() and p.parent.name != "tmp"}


def sidecar(repo: Repo) -> dict[str, object]:
    from ckptgit import sidecar as sc

    return sc.load((repo.path / f"{DIR}.ckpt.yaml").read_bytes())


def test_directory_seal_is_the_manifest_of_per_file_seals(repo: Repo) -> None:
    root = shards(repo, [1, 2, 3, 4])
    saved = repo.save(DIR, "llm")
    art = sidecar(repo)["artifact"]
    assert isinstance(art, dict)
    files = art["files"]
    expected = {p.relative_to(root).as_posix(): hashing.stream(p, md5=False).sha256
                for p in root.iterdir()}
    assert files == expected
    assert saved["artifact"]["sha256"] == hashing.directory_seal(expected.items())
    repo.ckpt_ok("verify", "llm", "--offline")


def test_next_save_with_two_changed_shards_stores_only_those(repo: Repo) -> None:
    shards(repo, [1, 2, 3, 4, 5, 6])
    repo.save(DIR, "llm")
    before = cache_objects(repo)
    shards(repo, [1, 2, 3, 4, 50, 60])  # rewrites every file; four keep their bytes
    repo.save(DIR, "llm")
    new = cache_objects(repo) - before
    # two shard objects and one directory listing; config.json is byte-identical
    assert len(new) == 3, sorted(p.name for p in new)
    assert sum(1 for p in new if p.name.endswith(".dir")) == 1


def test_unchanged_shards_are_not_read_again_but_a_rewrite_is(repo: Repo) -> None:
    root = shards(repo, [1, 2])
    repo.save(DIR, "llm")
    shard = root / "model-00000.safetensors"
    st = shard.stat()
    data = bytearray(shard.read_bytes())
    data[-1] ^= 0xFF  # same size, restored mtime: only ctime shows the rewrite
    shard.write_bytes(bytes(data))
    os.utime(shard, ns=(st.st_atime_ns, st.st_mtime_ns))
    saved = repo.save(DIR, "llm")
    files = sidecar(repo)["artifact"]["files"]  # type: ignore[index]
    assert files["model-00000.safetensors"] == hashing.stream(shard, md5=False).sha256
    assert saved["artifact"]["sha256"] == hashing.directory_seal(files.items())


def test_memo_entry_whose_cache_object_is_gone_is_read_again(repo: Repo) -> None:
    shards(repo, [1, 2])
    repo.save(DIR, "llm")
    for obj in cache_objects(repo):
        obj.chmod(0o644)
        obj.unlink()
    repo.save(DIR, "llm", "--label", "again")
    repo.ckpt_ok("verify", "llm", "--offline")


def weights(repo: Repo, *args: str) -> dict[str, object]:
    res = repo.ckpt_ok("diff", *args, "--weights", "--only", "weights", "--format", "json")
    out: dict[str, object] = res.json()["sections"]["weights"]
    return out


def test_diff_weights_across_directories_reads_only_differing_shards(repo: Repo) -> None:
    shards(repo, [1, 2, 3, 4])
    repo.save(DIR, "llm")
    root = repo.path / DIR
    moved = root / "model-00002.safetensors"
    rng = np.random.default_rng(3)
    w, b = rng.standard_normal((64, 32)).astype(np.float32), rng.standard_normal(64)
    write_model(moved, tensors={"layer.2.weight": w * np.float32(1.5),
                                "layer.2.bias": b.astype(np.float32)})
    repo.save(DIR, "llm")
    out = weights(repo, "llm~1", "llm")
    assert out["read"] == ["a/model-00002.safetensors", "b/model-00002.safetensors"]
    rows = {t["name"]: t for t in out["tensors"]}  # type: ignore[attr-defined]
    assert len(rows) == 8
    assert rows["layer.2.weight"]["status"] == "changed"
    assert abs(rows["layer.2.weight"]["rel_l2"] - 0.5) < 1e-5
    assert rows["layer.2.bias"]["status"] == "identical"
    assert {r["status"] for n, r in rows.items() if not n.startswith("layer.2.")} == \
        {"identical"}


def test_diff_weights_refuses_a_tampered_shard(repo: Repo) -> None:
    shards(repo, [1, 2])
    repo.save(DIR, "llm")
    shards(repo, [1, 20])
    saved = repo.save(DIR, "llm")
    from ckptgit import storage

    entries = dict(storage.dir_entries(repo.path, saved["artifact"]["md5"]))
    obj = storage.object_path(repo.path, entries["model-00001.safetensors"])
    obj.chmod(0o644)
    data = bytearray(obj.read_bytes())
    data[-1] ^= 0xFF
    obj.write_bytes(bytes(data))
    res = repo.ckpt("diff", "llm~1", "llm", "--weights", "--only", "weights")
    assert res.code == 3, res
    assert "do not match the recorded seal" in res.err
    assert "model-00001.safetensors" in res.err


def test_diff_weights_refuses_per_file_seals_that_do_not_make_the_directory_seal(
        repo: Repo) -> None:
    shards(repo, [1, 2])
    repo.save(DIR, "llm")
    shards(repo, [1, 20])
    repo.save(DIR, "llm")
    path = repo.path / f"{DIR}.ckpt.yaml"
    text = path.read_text()
    seal = sidecar(repo)["artifact"]["files"]["model-00001.safetensors"]  # type: ignore[index]
    path.write_text(text.replace(seal, "0" * 64))
    repo.git("commit", "-qa", "--amend", "--no-edit", "--no-verify")  # a teammate's forgery
    res = repo.ckpt("diff", "llm~1", "llm", "--weights", "--only", "weights")
    assert res.code == 3, res
    assert "per-file seals do not match the directory seal" in res.err
