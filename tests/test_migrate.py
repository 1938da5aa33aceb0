"""``git ckpt migrate`` with a real schema step: version 2 renames ``owner`` to ``saved_by``."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import pytest
from conftest import Repo

from ckptgit import sidecar

CLF = "models/clf.safetensors"
REG = "models/reg.safetensors"


def _v1_to_v2(doc: dict[str, Any]) -> dict[str, Any]:
    doc["saved_by"] = doc.pop("owner", None)
    return doc


def _v2_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(resources.files("ckptgit")
                                        .joinpath("schemas/sidecar-v1.json").read_text())
    schema["$id"] = schema["$id"].replace("-v1", "-v2")
    schema["properties"]["schema_version"] = {"const": 2}
    schema["properties"]["saved_by"] = schema["properties"].pop("owner")
    return schema


def use_v2(monkeypatch: pytest.MonkeyPatch) -> None:
    """ckptgit as a release that ships schema version 2 would be (both validators on v2)."""
    import jsonschema_rs
    from jsonschema import Draft202012Validator

    schema = _v2_schema()
    validator, fast = Draft202012Validator(schema), jsonschema_rs.Draft202012Validator(schema)
    monkeypatch.setattr(sidecar, "CURRENT_VERSION", 2)
    monkeypatch.setitem(sidecar.MIGRATIONS, 1, _v1_to_v2)
    monkeypatch.setattr(sidecar, "_validator", lambda: validator)
    monkeypatch.setattr(sidecar, "_fast_validator", lambda: fast)


@pytest.fixture
def v2(monkeypatch: pytest.MonkeyPatch) -> None:
    use_v2(monkeypatch)


@pytest.fixture
def saved_v1(repo: Repo) -> dict[str, Any]:
    """Three checkpoints saved under schema version 1 (two of clf, one of reg)."""
    ids = {}
    for n, (rel, name) in enumerate(((CLF, "clf"), (CLF, "clf"), (REG, "reg"))):
        repo.model(rel, seed=n)
        ids[f"{name}{n}"] = repo.save(rel, name, "--metric", f"acc=0.{n + 5}", "--push")["id"]
    return ids


def _head_doc(repo: Repo, rel: str) -> dict[str, Any]:
    return sidecar.parse_yaml(repo.git("show", f"HEAD:{rel}.ckpt.yaml"), "sidecar")


def test_migrate_is_one_commit_that_verify_accepts(repo: Repo, saved_v1: dict[str, Any],
                                                   v2: None) -> None:
    (repo.path / "README.md").write_text("# project\n\nstaged, not ours\n")
    repo.git("add", "README.md")
    # an unstaged label edit on the v1 copy in the work tree: migrated, not thrown away
    side = repo.path / f"{CLF}.ckpt.yaml"
    side.write_text(side.read_text().replace("labels: []", "labels:\n- candidate"))
    before = repo.git("rev-parse", "HEAD").strip()

    dry = repo.ckpt_ok("migrate", "--dry-run", "--json").json()
    assert dry["commit"] is None and len(dry["migrated"]) == 2
    assert repo.git("rev-parse", "HEAD").strip() == before

    res = repo.ckpt_ok("migrate", "--json").json()
    assert sorted(m["path"] for m in res["migrated"]) == [f"{CLF}.ckpt.yaml", f"{REG}.ckpt.yaml"]
    assert all((m["from"], m["to"]) == (1, 2) for m in res["migrated"])
    commit = res["commit"]
    assert repo.git("rev-parse", "HEAD").strip() == commit
    assert repo.git("rev-parse", f"{commit}^").strip() == before  # history not rewritten
    assert repo.git("log", "-1", "--format=%(trailers:key=Ckpt-Migrated,valueonly)",
                    commit).strip() == "1->2"
    assert "Ckpt-Id" not in repo.git("log", "-1", "--format=%B", commit)  # not a save
    touched = repo.git("show", "--name-only", "--format=", commit).split()
    assert sorted(touched) == [f"{CLF}.ckpt.yaml", f"{REG}.ckpt.yaml"]

    doc = _head_doc(repo, CLF)
    assert doc["schema_version"] == 2 and doc["saved_by"] == "Ada Trainer <ada@example.com>"
    assert "owner" not in doc and doc["id"] == saved_v1["clf1"]
    # the user's staged README stays staged and out of the commit; their label edit survives
    assert repo.git("diff", "--cached", "--name-only").split() == ["README.md"]
    work = sidecar.parse_yaml(side.read_bytes(), "work tree")
    assert work["schema_version"] == 2 and work["labels"] == ["candidate"]
    assert (repo.path / f"{REG}.ckpt.yaml").read_bytes() == repo.git(
        "show", f"HEAD:{REG}.ckpt.yaml").encode()

    verified = repo.ckpt("verify", "--all")
    assert verified.code == 0, verified.out + verified.err
    assert len(repo.ckpt_ok("list", "--json").json()) == 3  # a migration is not a save

    # the first save's sidecar is still version 1 in history, and is migrated on read
    first = saved_v1["clf0"]
    raw = repo.git("show", f"{repo.ckpt_ok('show', first, '--json').json()['commit']}:"
                           f"{CLF}.ckpt.yaml")
    assert raw.startswith("schema_version: 1")
    shown = repo.ckpt_ok("show", first, "--json").json()
    assert shown["schema_version"] == 2 and shown["saved_by"] and "owner" not in shown

    again = repo.ckpt_ok("migrate")
    assert again.out.startswith("nothing to migrate: every sidecar is on schema version 2")
    assert repo.git("rev-parse", "HEAD").strip() == commit

    # the auditor sees the migration as an event of its own, verified
    audit = repo.ckpt_ok("audit", "--format", "json").json()
    migrations = [e for e in audit["events"] if e["action"] == "migrate"]
    assert [(e["commit"], e["status"], e["migrated"]) for e in migrations] == [(commit, "ok",
                                                                                "1->2")]
    assert migrations[0]["name"] == "clf, reg" and audit["summary"]["migrations"] == 1
    assert migrations[0]["sidecars"] == [f"{CLF}.ckpt.yaml", f"{REG}.ckpt.yaml"]
    assert audit["events"][-1]["action"] == "migrate"  # in time order, after the saves
    assert "migrate" in repo.ckpt_ok("audit", "reg").out
    assert "migrate" not in repo.ckpt_ok("audit", "clf", "--since", "2999-01-01").out


def test_edit_dressed_as_a_migration_is_detected(repo: Repo, saved_v1: dict[str, Any],
                                                 v2: None) -> None:
    side = repo.path / f"{REG}.ckpt.yaml"
    doc = sidecar.load(side.read_bytes())
    doc["metrics"]["acc"] = 0.99  # the "migration" also improves the metric
    side.write_text(sidecar.dump(doc))
    # the hook would refuse it; verify must catch it even when hooks are skipped
    repo.git("commit", "-q", "--no-verify", "-am", "migrate\n\nCkpt-Migrated: 1->2")
    res = repo.ckpt("verify", "--all")
    assert res.code == 3
    assert "metrics.acc: 0.7 -> 0.99" in res.out
    audit = repo.ckpt("audit", "--format", "json")
    assert audit.code == 3
    [event] = [e for e in audit.json()["events"] if e["action"] == "migrate"]
    assert event["status"] == "failed" and event["name"] == "reg"
    assert "reg.safetensors.ckpt.yaml is not a faithful migration" in event["problems"][0]
    assert "metrics.acc: 0.7 -> 0.99" in event["problems"][0]


def test_migrate_by_name(repo: Repo, saved_v1: dict[str, Any], v2: None) -> None:
    res = repo.ckpt_ok("migrate", "reg")
    assert res.out.startswith(f"migrated {REG}.ckpt.yaml (reg ")
    assert _head_doc(repo, REG)["schema_version"] == 2
    assert _head_doc(repo, CLF)["schema_version"] == 1
    bad = repo.ckpt("migrate", "nope")
    assert bad.code == 2 and "no checkpoint named 'nope'" in bad.err
    assert repo.ckpt("verify", "--all").code == 0


def test_nothing_to_migrate(repo: Repo, saved_v1: dict[str, Any]) -> None:
    head = repo.git("rev-parse", "HEAD")
    res = repo.ckpt_ok("migrate")
    assert res.out == "nothing to migrate: every sidecar is on schema version 1\n"
    assert repo.git("rev-parse", "HEAD") == head


def test_a_broken_migration_step_changes_nothing(repo: Repo, saved_v1: dict[str, Any],
                                                 v2: None, monkeypatch: pytest.MonkeyPatch
                                                 ) -> None:
    monkeypatch.setitem(sidecar.MIGRATIONS, 1, lambda doc: {**doc, "metrics": "lost"})
    head = repo.git("rev-parse", "HEAD")
    res = repo.ckpt("migrate")
    assert res.code == 3 and "gives an invalid sidecar" in res.err
    assert repo.git("rev-parse", "HEAD") == head
