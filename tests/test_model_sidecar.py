"""The typed ``Sidecar`` value, parsed from real saved sidecars."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from conftest import Repo, write_model

from ckptgit import sidecar
from ckptgit.errors import IntegrityError
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


# -- load -> to_doc gives back exactly what was stored, for every form a sidecar takes ----------
def _stored(repo: Repo, rel: str) -> tuple[bytes, dict[str, Any]]:
    raw = repo.git("show", f"HEAD:{rel}.ckpt.yaml").encode()
    return raw, sidecar.load(raw)


def _round_trips(raw: bytes, doc: dict[str, Any]) -> None:
    value = sidecar.read(raw)
    out = value.to_doc()
    assert out == doc
    assert list(out) == list(doc)  # order too: a rendered sidecar reads as it was saved
    assert sidecar.dump(out) == sidecar.dump(doc)
    out["metrics"]["injected"] = 1  # the document is the caller's: the value is untouched
    assert "injected" not in value.metrics


def test_every_field_a_save_writes_round_trips(repo: Repo) -> None:
    (repo.path / "data").mkdir()
    (repo.path / "data" / "train.csv.dvc").write_text(
        f"outs:\n- md5: {'a' * 32}\n  size: 10\n  hash: md5\n  path: train.csv\n")
    (repo.path / "tok.json").write_text(json.dumps({"vocab": 3}))
    (repo.path / "train.py").write_text("print(1)\n")  # untracked: dirty, with a count
    repo.model()
    repo.save("models/clf.safetensors", "clf", "--metric", "acc=0.9", "--param", "optim.lr=0.1",
              "--seed", "torch=1", "--step", "3", "--epoch", "1.5", "--label", "a",
              "--note", "n", "--data", "data/train.csv", "--with", "tok.json")
    raw, doc = _stored(repo, "models/clf.safetensors")
    assert doc["code"]["dirty"] and doc["companions"] and doc["data"]  # the forms are there
    _round_trips(raw, doc)


def test_sections_without_flags_and_a_directory_artifact_round_trip(repo: Repo) -> None:
    from ckptgit.ops.save import SaveRequest, save
    from ckptgit.repo import Repo as CkptRepo

    shards = repo.path / "models" / "sharded"
    shards.mkdir(parents=True)
    write_model(shards / "a.safetensors")
    (shards / "config.json").write_text("{}")
    save(CkptRepo.open(repo.path), SaveRequest(
        path="models/sharded", name="big", cwd=repo.path, metrics={"acc": 0.5},
        extra={"distributions": {"score": {"bins": [0, 1], "counts": [3]}},
               "slices": {"lang=en": {"acc": 0.5, "n": 9}}}))
    raw, doc = _stored(repo, "models/sharded")
    assert doc["artifact"]["kind"] == "directory" and doc["artifact"]["files"]
    assert doc["distributions"] and doc["slices"]
    _round_trips(raw, doc)


def _minimal(repo: Repo) -> dict[str, Any]:
    repo.model()
    repo.save()
    doc = sidecar.load(repo.git("show", "HEAD:models/clf.safetensors.ckpt.yaml"))
    return doc


def test_absent_null_and_unknown_keys_stay_as_stored(repo: Repo) -> None:
    doc = _minimal(repo)
    for key in ("parent", "step", "labels", "notes", "owner", "command"):
        doc.pop(key, None)  # an older writer: optional keys absent, not null
    doc["epoch"] = None  # present and null
    doc["future_section"] = {"kept": [1, 2]}  # a key this version does not model
    doc["artifact"]["origin"] = "hub"
    doc["code"]["reviewed"] = True
    doc = {"name": doc.pop("name"), **doc}  # hand-written order
    raw = sidecar.dump(doc).encode()
    _round_trips(raw, sidecar.load(raw))
    value = sidecar.read(raw)
    assert value.extra == {"future_section": {"kept": [1, 2]}}
    assert value.artifact.extra == {"origin": "hub"} and value.step is None


def test_a_migrated_sidecar_round_trips_as_migrated(monkeypatch: pytest.MonkeyPatch,
                                                    repo: Repo) -> None:
    current = _minimal(repo)
    old = {k: v for k, v in current.items() if k != "schema_version"}
    old["schema_version"] = 0
    old["checkpoint"] = old.pop("artifact")

    def v0_to_v1(data: dict[str, Any]) -> dict[str, Any]:
        data = dict(data)
        data["artifact"] = data.pop("checkpoint")
        return data

    monkeypatch.setitem(sidecar.MIGRATIONS, 0, v0_to_v1)
    raw = sidecar.dump(old).encode()
    migrated = sidecar.load(raw)
    assert migrated["schema_version"] == 1
    _round_trips(raw, migrated)
    assert sidecar.read(raw).artifact.sha256 == current["artifact"]["sha256"]


def test_a_value_built_in_code_renders_what_a_save_writes(repo: Repo) -> None:
    doc = _minimal(repo)
    value = Sidecar.from_doc(doc)
    built = dataclasses.replace(value, keys=(), artifact=dataclasses.replace(
        value.artifact, keys=()), code=dataclasses.replace(value.code, keys=()))
    assert built.to_doc() == doc
    moved = dataclasses.replace(value, epoch=2.0)  # set after reading: rendered, not lost
    assert moved.to_doc()["epoch"] == 2.0


@pytest.mark.parametrize("breakage", [
    lambda d: d.pop("artifact"),
    lambda d: d.update(environment="linux"),
    lambda d: d.update(metrics=[1, 2]),
    lambda d: d.update(data="train.csv"),
    lambda d: d["artifact"].pop("sha256"),
    lambda d: d.update(companions=[{"path": "x"}]),
    lambda d: d.update(tensors=3),
])
def test_a_malformed_sidecar_is_refused_at_the_edge(repo: Repo, breakage: Any) -> None:
    doc = _minimal(repo)
    breakage(doc)
    with pytest.raises(IntegrityError, match="not a sidecar ckptgit wrote"):
        sidecar.read(sidecar.dump(doc), "HEAD:x.ckpt.yaml")



def test_a_committed_sidecar_missing_a_section_is_one_line_exit_3(repo: Repo) -> None:
    """A save commit whose sidecar lost its environment (hand-made, trailers and all): every
    reader refuses it at the edge with one line, never a traceback from deep inside."""
    repo.model()
    repo.save()
    rel = "models/clf.safetensors.ckpt.yaml"
    doc = sidecar.load((repo.path / rel).read_bytes())
    doc["id"], doc["parent"] = "0123456789abcdef", doc["id"]
    doc.pop("environment")
    (repo.path / rel).write_text(sidecar.dump(doc))
    repo.git("add", rel)
    repo.git("commit", "-q", "--no-verify", "-m",
             "ckpt: save clf (01234567)\n\nCkpt-Id: 0123456789abcdef\n"
             "Ckpt-Name: clf\n")
    assert "0123456789abcdef" in repo.ckpt_ok("list", "--json").out
    for args in (("show", "0123456789abcdef"), ("diff", "clf~1", "0123456789abcdef"),
                 ("check", "0123456789abcdef")):
        res = repo.ckpt(*args)
        assert res.code == 3, (args, res.out, res.err)
        assert "Traceback" not in res.err
        assert "has no 'environment'" in res.err, res.err
