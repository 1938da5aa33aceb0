"""Sidecar YAML: safe loading, the shipped JSON Schema, migrations of older versions."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml
from conftest import Repo

from ckptgit import sidecar
from ckptgit.errors import IntegrityError, UsageError


@pytest.fixture
def doc(repo: Repo) -> dict[str, Any]:
    repo.model()
    repo.save()
    data: dict[str, Any] = yaml.safe_load(repo.git("show",
                                                   "HEAD:models/clf.safetensors.ckpt.yaml"))
    return data


def test_saved_sidecar_round_trips_and_validates(doc: dict[str, Any]) -> None:
    sidecar.validate(doc)
    assert sidecar.load(sidecar.dump(doc)) == doc
    assert sidecar.schema_errors(doc) == []


@pytest.mark.parametrize("breakage", [
    lambda d: d.pop("artifact"),
    lambda d: d.pop("environment"),
    lambda d: d.update(id="not-hex"),
    lambda d: d.update(name="Bad Name"),
    lambda d: d.update(created_at="yesterday"),
    lambda d: d["artifact"].update(md5="xyz"),
    lambda d: d["artifact"].update(sha256="0" * 63),
    lambda d: d["artifact"].update(size=-1),
    lambda d: d["artifact"].update(surprise=True),
    lambda d: d["code"].pop("dirty"),
    lambda d: d.update(step=-3),
    lambda d: d.update(seeds={"torch": {"nested": 1}}),
    lambda d: d.update(schema_version=2),
])
def test_schema_catches_broken_sidecars(doc: dict[str, Any], breakage: Any) -> None:
    broken = copy.deepcopy(doc)
    breakage(broken)
    assert sidecar.schema_errors(broken)
    with pytest.raises(IntegrityError, match="does not match the sidecar schema"):
        sidecar.validate(broken)


def test_only_the_safe_loader_is_used() -> None:
    evil = "!!python/object/apply:os.system ['echo pwned']\n"
    with pytest.raises(IntegrityError, match="not valid YAML"):
        sidecar.load(evil)
    with pytest.raises(IntegrityError, match="not a mapping"):
        sidecar.load("- a\n- b\n")
    with pytest.raises(IntegrityError, match=r"\(line 3\)"):
        sidecar.load("a: 1\nb: [\n")


def test_newer_schema_is_refused_with_advice() -> None:
    with pytest.raises(UsageError, match="upgrade ckptgit"):
        sidecar.load("schema_version: 99\nid: x\n")


def test_older_versions_are_migrated_not_rejected(monkeypatch: pytest.MonkeyPatch,
                                                  doc: dict[str, Any]) -> None:
    old = {k: v for k, v in doc.items() if k != "schema_version"}
    old["schema_version"] = 0
    old["checkpoint"] = old.pop("artifact")  # say version 0 called it that

    def v0_to_v1(data: dict[str, Any]) -> dict[str, Any]:
        data = dict(data)
        data["artifact"] = data.pop("checkpoint")
        return data

    with pytest.raises(IntegrityError, match="no migration from schema version 0"):
        sidecar.load(sidecar.dump(old))
    monkeypatch.setitem(sidecar.MIGRATIONS, 0, v0_to_v1)
    migrated = sidecar.load(sidecar.dump(old))
    assert migrated == doc
    sidecar.validate(migrated)


def test_nonfinite_values_do_not_reach_a_sidecar(repo: Repo) -> None:
    (repo.path / "p.yaml").write_text("lr: .nan\nwarmup: [1, .inf]\n")
    repo.model()
    repo.save("models/clf.safetensors", "clf", "--params", "p.yaml")
    text = repo.git("show", "HEAD:models/clf.safetensors.ckpt.yaml")
    data = yaml.safe_load(text)
    assert data["params"] == {"lr": "nan", "warmup": [1, "inf"]}
    sidecar.validate(data)


def _mutations(node: Any, path: tuple[Any, ...] = ()) -> Any:
    """(path, kind, value) for every leaf replaced, every key dropped, every mapping widened."""
    odd = [None, "", -1, 1.5, True, [], {}, "0" * 64 + "\n", "x" * 300, 2**70]
    if isinstance(node, dict):
        yield path, "extra", ("surprise", 1)
        for key, value in node.items():
            yield (*path, key), "drop", None
            yield from _mutations(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _mutations(value, (*path, i))
    for value in odd:
        yield path, "set", value


def _apply(doc: dict[str, Any], path: tuple[Any, ...], kind: str, value: Any) -> Any:
    out = copy.deepcopy(doc)
    if not path:
        return value if kind == "set" else {**out, value[0]: value[1]}
    parent = out
    for key in path[:-1]:
        parent = parent[key]
    if kind == "drop":
        parent.pop(path[-1])
    elif kind == "set":
        parent[path[-1]] = value
    else:
        parent[path[-1]][value[0]] = value[1]
    return out


def test_the_fast_validator_never_passes_what_jsonschema_fails(doc: dict[str, Any]) -> None:
    """The compiled check only short-cuts "valid"; it must never call valid what is not."""
    from jsonschema import Draft202012Validator

    strict = Draft202012Validator(sidecar._schema())  # noqa: SLF001
    tried = refused = 0
    for path, kind, value in _mutations(doc):
        mutated = _apply(doc, path, kind, value)
        expected = sorted(e.message for e in strict.iter_errors(mutated))
        got = sidecar.schema_errors(mutated)
        assert bool(got) == bool(expected), (path, kind, value)
        tried += 1
        refused += bool(expected)
    assert tried > 500 and refused > 300  # the corpus really exercises the schema


def _corpus(doc: dict[str, Any]) -> list[bytes]:
    """Enough sidecars for the worker pool: a schema problem every 50, one not YAML (3), one
    from a newer ckptgit (4)."""
    texts = []
    for i in range(sidecar.PARALLEL_FROM + 20):
        d = copy.deepcopy(doc)
        d["step"] = i
        if i % 50 == 7:
            d["artifact"]["md5"] = "xyz"  # a schema problem
        texts.append(sidecar.dump(d).encode())
    texts[3] = b"a: [\n"  # not YAML
    texts[4] = b"schema_version: 99\n"  # from a newer ckptgit
    return texts


def test_many_sidecars_are_checked_alike_on_one_core_and_on_many(
        doc: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    texts = _corpus(doc)
    serial = sidecar.check_many(texts, workers=1)
    parallel = sidecar.check_many(texts, workers=2)
    assert parallel == serial
    assert "on one core" not in caplog.text  # the pool really ran
    steps = [c.doc["step"] for c in serial if c.doc]
    assert steps == [i for i in range(len(texts)) if i not in (3, 4)]
    assert "not valid YAML" in str(serial[3].error) and "upgrade ckptgit" in str(serial[4].error)
    assert sum(bool(c.problems) for c in serial) == 5


def test_many_sidecars_parse_in_worker_processes_as_in_one() -> None:
    from ckptgit import sidecar as sc

    items = [(f"schema_version: 1\nid: c{i}\nmetrics: {{acc: 0.{i}}}\n".encode(), f"s{i}")
             for i in range(sc.PARALLEL_FROM + 5)]
    assert sc.load_many(items, workers=2) == sc.load_many(items, workers=1)
    hostile = [*items[:100], (b"- a list, not a mapping\n", "bad.ckpt.yaml"), *items[100:]]
    for workers in (1, 2):
        with pytest.raises(IntegrityError, match="bad.ckpt.yaml is not a mapping"):
            sc.load_many(hostile, workers=workers)


def test_workers_reading_their_own_blobs_check_what_one_process_checks(
        repo: Repo, doc: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    from ckptgit.git import Git
    from ckptgit.integrity import parsecache

    texts = _corpus(doc)
    texts[5] = b"a: &x [1]\nb: *x\n"  # an alias
    texts[6] = texts[8].replace(b"\nstep: 8\n", b"\nstep: 8\nstep: 9\n")  # a key twice
    git = Git.discover(repo.path)
    oids = git.write_blobs(texts)
    alone = sidecar.check_many(texts, workers=1, keep=parsecache.reduced)
    assert alone == [c if c.doc is None else sidecar.Checked(parsecache.reduced(c.doc), c.error,
                                                             c.problems)
                     for c in map(sidecar.check, texts)]  # what a copying parse makes of them
    assert sidecar.check_stored(git, oids, parsecache.reduced, workers=1) == alone
    assert sidecar.check_stored(git, oids, parsecache.reduced, workers=2) == alone
    assert "on one core" not in caplog.text  # the pool really ran
    assert [c.doc["step"] for c in alone if c.doc][:3] == [0, 1, 2]
    assert alone[6].doc is not None and alone[6].doc["step"] == 9  # the last one, as load reads
    assert "alias" in str(alone[5].error) and "upgrade ckptgit" in str(alone[4].error)
    assert sum(bool(c.problems) for c in alone) == 5
