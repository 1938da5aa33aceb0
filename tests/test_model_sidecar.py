"""The typed ``Sidecar`` value, parsed from real saved sidecars."""

from __future__ import annotations

import json

import pytest
from conftest import Repo

from ckptgit import sidecar
from ckptgit.model import Checkpoint, Sidecar


def test_a_real_save_parses_into_the_value(repo: Repo) -> None:
    repo.model()
    (repo.path / "tok.json").write_text(json.dumps({"vocab": 3}))
    saved = repo.save("models/clf.safetensors", "clf", "--metric", "acc=0.9", "--param",
                      "lr=0.1", "--step", "7", "--label", "nightly", "--with", "tok.json")
    doc = sidecar.load(repo.git("show", "HEAD:models/clf.safetensors.ckpt.yaml"))
    value = Sidecar.from_doc(doc)
    assert (value.id, value.name, value.step) == (saved["id"], "clf", 7)
    assert value.metrics == {"acc": 0.9} and value.params == {"lr": 0.1}
    assert value.labels == ("nightly",)
    assert value.artifact.sha256 == saved["artifact"]["sha256"]
    assert value.artifact.path == "models/clf.safetensors"
    assert [c.path for c in value.companions] == ["tok.json"]
    assert value.code.commit == doc["code"]["commit"] and isinstance(value.code.dirty, bool)
    assert value.tensors is not None and value.tensors["count"] == 3
    ckpt = Checkpoint.from_sidecar(doc, "0" * 40)
    assert (ckpt.id, ckpt.sha256) == (value.id, value.artifact.sha256)


def test_the_value_is_frozen(repo: Repo) -> None:
    repo.model()
    repo.save()
    raw = repo.git("show", "HEAD:models/clf.safetensors.ckpt.yaml")
    value = Sidecar.from_doc(sidecar.load(raw))
    with pytest.raises(AttributeError):
        value.name = "other"  # type: ignore[misc]
