"""``git ckpt diff --weights``: per-tensor numbers the test can predict, bytes from every source."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import Repo, write_model

K = 1.5


def base(seed: int = 0) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    return {"encoder.layer.0.weight": rng.standard_normal((32, 16)).astype(np.float32),
            "encoder.layer.0.bias": rng.standard_normal(32).astype(np.float32),
            "encoder.layer.1.weight": rng.standard_normal((32, 32)).astype(np.float32),
            "head.weight": rng.standard_normal((4, 32)).astype(np.float16),
            "position_ids": np.arange(64, dtype=np.int64)}


def weights(repo: Repo, *args: str) -> dict[str, Any]:
    res = repo.ckpt_ok("diff", *args, "--weights", "--only", "weights", "--format", "json")
    out: dict[str, Any] = res.json()["sections"]["weights"]
    return out


def two_saves(repo: Repo, new: dict[str, Any]) -> None:
    repo.model(tensors=base())
    repo.save("models/clf.safetensors", "clf")
    repo.model(tensors=new)
    repo.save("models/clf.safetensors", "clf")


def test_scaled_tensor_reports_relative_l2_of_k_minus_1(repo: Repo) -> None:
    new = base()
    new["encoder.layer.1.weight"] = new["encoder.layer.1.weight"] * np.float32(K)
    new["head.weight"] = (new["head.weight"] * np.float16(K)).astype(np.float16)
    two_saves(repo, new)
    w = weights(repo, "clf~1", "clf")
    rows = {t["name"]: t for t in w["tensors"]}
    moved = rows["encoder.layer.1.weight"]
    assert moved["status"] == "changed"
    assert moved["rel_l2"] == pytest.approx(abs(K - 1), rel=1e-5)
    assert moved["cosine"] == pytest.approx(1.0, abs=1e-6)
    old = base()["encoder.layer.1.weight"]
    assert moved["max_abs"] == pytest.approx(float(np.abs(old).max()) * (K - 1), rel=1e-5)
    assert rows["head.weight"]["rel_l2"] == pytest.approx(abs(K - 1), rel=1e-2)  # F16 rounding
    for name in ("encoder.layer.0.weight", "encoder.layer.0.bias", "position_ids"):
        assert rows[name]["status"] == "identical"
    modules = {m["module"]: m for m in w["modules"]}
    assert w["modules"][0]["module"] in ("encoder.layer.1", "head")  # moved most, listed first
    layer0 = modules["encoder.layer.0"]
    assert layer0["rel_l2"] == 0.0 and layer0["changed"] == 0
    assert modules["encoder.layer.1"]["rel_l2"] == pytest.approx(abs(K - 1), rel=1e-5)


def test_shape_change_and_added_tensor_are_reported_not_compared(repo: Repo) -> None:
    new = base()
    new["head.weight"] = np.zeros((6, 32), dtype=np.float16)
    new["adapter.weight"] = np.ones((4, 4), dtype=np.float32)
    two_saves(repo, new)
    rows = {t["name"]: t for t in weights(repo, "clf~1", "clf")["tensors"]}
    assert rows["head.weight"]["status"] == "shape_changed"
    assert rows["head.weight"]["rel_l2"] is None
    assert rows["adapter.weight"]["status"] == "added"
    text = repo.ckpt_ok("diff", "clf~1", "clf", "--weights", "--only", "weights").out
    assert "shape changed not compared" in text


def test_same_bytes_are_identical_without_reading(repo: Repo) -> None:
    repo.model(tensors=base())
    repo.save("models/clf.safetensors", "clf", "--metric", "acc=0.1")
    repo.save("models/clf.safetensors", "clf", "--metric", "acc=0.2")
    w = weights(repo, "clf~1", "clf")
    assert w["identical_files"] and all(t["status"] == "identical" for t in w["tensors"])


def _cache_object(repo: Repo, ref: str) -> Path:
    info = repo.ckpt_ok("show", ref, "--json").json()["artifact"]
    md5 = info["md5"]
    return repo.path / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]


def test_corrupt_cache_object_is_an_integrity_error(repo: Repo) -> None:
    new = base()
    new["encoder.layer.1.weight"] = new["encoder.layer.1.weight"] * np.float32(2)
    two_saves(repo, new)
    repo.ckpt_ok("diff", "clf~1", "clf", "--weights")  # hashed once and remembered ...
    obj = _cache_object(repo, "clf~1")
    os.chmod(obj, 0o644)  # ... until the file changes
    data = bytearray(obj.read_bytes())
    data[-1] ^= 0xFF  # flip a weight byte, keep the header valid
    obj.write_bytes(bytes(data))
    res = repo.ckpt("diff", "clf~1", "clf", "--weights")
    assert res.code == 3, res.err
    assert "seal" in res.err


def test_bytes_come_from_workspace_then_remote(repo: Repo) -> None:
    repo.model(tensors=base())
    repo.ckpt_ok("save", "models/clf.safetensors", "--name", "clf", "--push")
    new = base()
    new["encoder.layer.0.bias"] = new["encoder.layer.0.bias"] + np.float32(1)
    repo.model(tensors=new)
    repo.ckpt_ok("save", "models/clf.safetensors", "--name", "clf")
    # neither is in the cache any more: the new one is in the workspace, the old one on the
    # remote only (the workspace file has the same size but holds the new bytes)
    for ref in ("clf~1", "clf"):
        obj = _cache_object(repo, ref)
        os.chmod(obj, 0o644)
        obj.unlink()
    rows = {t["name"]: t for t in weights(repo, "clf~1", "clf")["tensors"]}
    assert rows["encoder.layer.0.bias"]["status"] == "changed"
    assert rows["encoder.layer.0.weight"]["status"] == "identical"
    assert _cache_object(repo, "clf~1").exists()  # fetched from the remote


def test_missing_everywhere_is_exit_3(repo: Repo) -> None:
    new = base()
    new["encoder.layer.0.bias"] = new["encoder.layer.0.bias"] * np.float32(3)
    two_saves(repo, new)  # never pushed
    obj = _cache_object(repo, "clf~1")
    os.chmod(obj, 0o644)
    obj.unlink()
    res = repo.ckpt("diff", "clf~1", "clf", "--weights")
    assert res.code == 3 and "clf" in res.err


def test_chunked_sums_match_numpy_on_odd_sizes(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from ckptgit.compare import weights as w

    monkeypatch.setattr(w, "CHUNK", 1000)  # many chunks, a ragged last one
    monkeypatch.setattr(w, "DROP", 4096)  # release pages along the way too
    rng = np.random.default_rng(7)
    a = rng.standard_normal(10_007).astype(np.float32)
    b = a.copy()
    b[5000:5100] += rng.standard_normal(100).astype(np.float32)  # one chunk differs
    pa = write_model(tmp_path / "a.safetensors", tensors={"x": a})
    pb = write_model(tmp_path / "b.safetensors", tensors={"x": b})
    (stat,) = w.compare(pa, pb).tensors
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    assert stat.rel_l2 == pytest.approx(np.linalg.norm(b64 - a64) / np.linalg.norm(a64), rel=1e-6)
    assert stat.cosine == pytest.approx(a64 @ b64 / np.linalg.norm(a64) / np.linalg.norm(b64))
    assert stat.max_abs == pytest.approx(float(np.abs(b64 - a64).max()), rel=1e-6)
