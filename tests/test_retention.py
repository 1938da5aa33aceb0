"""Retention (docs/retention.md): the plan, ``git ckpt prune`` over 40 real checkpoints (two of
them promoted with real signed tags), on a local DVC remote and on S3 (SeaweedFS)."""

from __future__ import annotations

import secrets
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import Repo, git_project, make_repo
from governance_fixtures import CONFIG, Keys, govern
from s3server import S3Server
from test_s3 import on_s3, use_s3

from ckptgit import storage, workfiles
from ckptgit.errors import UsageError
from ckptgit.model import Checkpoint
from ckptgit.policy import retention, settings

MODEL = "models/clf.safetensors"
RULES = """\
retention:
  keep_last: 5
  keep_best: {metric: acc, count: 3}
  keep_labels: [keep]
"""


def _remote_objects(repo: Repo) -> set[str]:
    base = repo.remote / "files" / "md5"
    return {p.parent.name + p.name for p in base.glob("*/*")} if base.is_dir() else set()


@pytest.fixture
def forty(tmp_path: Path, keys: Keys) -> tuple[Repo, list[dict[str, str]]]:
    repo = make_repo(tmp_path)
    govern(repo, keys, CONFIG + RULES)
    saved = []
    for i in range(40):
        repo.model(seed=i)
        labels = ("--label", "keep") if i in (10, 11) else ()
        saved.append(repo.save(MODEL, "clf", "--metric", f"acc={(40 - i) / 100}", "--push",
                               *labels))
    repo.ckpt_ok("promote", saved[20]["id"], "--stage", "dev", "--rationale", "r")
    repo.ckpt_ok("promote", saved[21]["id"], "--stage", "dev", "--rationale", "r")
    repo.ckpt_ok("promote", saved[21]["id"], "--stage", "staging", "--rationale", "r")
    return repo, saved


def test_prune_forty_checkpoints(forty: tuple[Repo, list[dict[str, str]]]) -> None:
    repo, saved = forty
    keep = {0, 1, 2, 10, 11, 20, 21, 35, 36, 37, 38, 39}  # best 3, labelled, promoted, last 5
    expected = {saved[i]["id"] for i in range(40) if i not in keep}
    plan = repo.ckpt_ok("prune", "--dry-run", "--json").json()
    assert {c["id"] for c in plan["checkpoints"] if c["action"] == "prune"} == expected
    assert plan["count"] == 28 and plan["bytes"] == sum(saved[i]["artifact"]["size"]
                                                          for i in range(40) if i not in keep)
    rules = {c["id"]: c["rule"] for c in plan["checkpoints"]}
    assert rules[saved[20]["id"]] == "stage-tag" and rules[saved[10]["id"]] == "label:keep"
    assert rules[saved[0]["id"]] == "keep-best" and rules[saved[39]["id"]] == "keep-last"
    md5 = {s["id"]: s["artifact"]["md5"] for s in saved}
    assert all(storage.object_path(repo.path, md5[i]).exists() for i in expected)  # dry run

    done = repo.ckpt_ok("prune", "--remote", "--json").json()
    assert done["freed_local"] == plan["bytes"] and done["freed_remote"] == plan["bytes"]
    on_remote = _remote_objects(repo)
    for s in saved:
        gone = s["id"] in expected
        assert storage.object_path(repo.path, md5[s["id"]]).exists() is not gone
        assert (md5[s["id"]] in on_remote) is not gone
    listed = {c["id"]: c["pruned"] for c in repo.ckpt_ok("list", "--json").json()}
    assert {i for i, p in listed.items() if p} == expected
    assert repo.ckpt_ok("show", saved[5]["id"], "--json").json()["pruned"]["rule"] == "no-rule"
    diff = repo.ckpt_ok("diff", saved[5]["id"], saved[6]["id"], "--json").json()
    assert diff  # metadata diff of two pruned checkpoints still works
    audit = repo.ckpt("audit", "--format", "json")
    assert audit.code == 0, audit.err
    assert any(e["action"] == "prune" for e in audit.json()["events"])
    res = repo.ckpt("restore", saved[5]["id"], "--to", str(repo.path.parent / "out"))
    assert res.code == 3 and "was pruned on" in res.err and "rule no-rule" in res.err
    trailers = repo.git("log", "-1", "--format=%(trailers)", "refs/ckpt/retention")
    assert "Ckpt-Action: prune" in trailers and trailers.count("Ckpt-Pruned:") == 28
    again = repo.ckpt_ok("prune", "--dry-run", "--json").json()
    assert again["count"] == 0  # nothing left to prune; the promoted ones stay


def test_prune_frees_bytes_on_s3(tmp_path: Path, s3_server: S3Server) -> None:
    repo = Repo(git_project(tmp_path), remote=tmp_path / "unused")
    repo.ckpt_ok("init", "--remote", f"s3://{s3_server.bucket}/{secrets.token_hex(6)}")
    use_s3(repo.path, s3_server)
    config = repo.path / ".ckpt/config.yaml"
    config.write_text(config.read_text() + "retention:\n  keep_last: 1\n")
    saved = []
    for i in range(3):
        repo.model(seed=i)
        saved.append(repo.save(MODEL, "clf", "--push"))
    assert on_s3(s3_server, repo) == {s["artifact"]["md5"] for s in saved}
    done = repo.ckpt_ok("prune", "--remote", "--json").json()
    assert done["count"] == 2 and done["freed_remote"] == sum(s["artifact"]["size"]
                                                              for s in saved[:2])
    assert on_s3(s3_server, repo) == {saved[2]["artifact"]["md5"]}


def test_prune_refusals(repo: Repo) -> None:
    repo.model()
    repo.save(MODEL, "clf")
    res = repo.ckpt("prune", "--dry-run")
    assert res.code == 2 and "no retention rules" in res.err
    config = repo.path / ".ckpt/config.yaml"
    config.write_text(config.read_text() + "retention:\n  keep_last: 0\n")
    from ckptgit.git import Git

    with workfiles.saving(Git.discover(repo.path)):
        res = repo.ckpt("prune")
    assert res.code == 4 and "a save is in progress" in res.err
    subprocess.run(["dvc", "remote", "remove", "ckpt"], cwd=repo.path, check=True)
    res = repo.ckpt("prune", "--remote")
    assert res.code == 2 and "no DVC remote is configured" in res.err, res.err
    assert repo.ckpt_ok("list", "--json").json()[0]["pruned"] is False  # nothing changed


# -- the plan on its own: ages, labels with a maximum age, contradictions ----------------------
NOW = datetime(2026, 6, 1, tzinfo=UTC)


def _ckpt(i: int, days_old: float, labels: tuple[str, ...] = ()) -> Checkpoint:
    created = (NOW - timedelta(days=days_old)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return Checkpoint(id=f"{i:016x}", name="clf", commit=f"{i:040x}", created_at=created,
                      path=MODEL, sha256="0" * 64, md5=f"{i:032x}", size=10, labels=labels,
                      metrics={"acc": i / 10})


def test_plan_ages_and_label_limits() -> None:
    rules = settings.from_text("retention:\n  keep_last: 2\n  keep_younger_than_days: 7\n"
                               "  max_age_days: {pii: 30}\n").retention
    ckpts = [_ckpt(1, 100), _ckpt(2, 60, ("pii",)), _ckpt(3, 45, ("pii",)), _ckpt(4, 3),
             _ckpt(5, 1, ("pii",))]
    tagged = {_ckpt(2, 60).commit}
    by_id = {d.ckpt.id: d for d in retention.plan(ckpts, rules, tagged, NOW)}
    assert [by_id[c.id].keep for c in ckpts] == [False, True, False, True, True]
    assert by_id[ckpts[1].id].rule == "stage-tag"
    assert "maximum age" in by_id[ckpts[1].id].reasons[0]  # the contradiction, explained
    assert by_id[ckpts[2].id].rule == "max-age:pii"
    assert by_id[ckpts[4].id].rule == "keep-last"  # young pii: under its maximum age
    assert by_id[ckpts[0].id].rule == "no-rule"


def test_plan_label_limit_overrides_keep_rules() -> None:
    rules = settings.from_text("retention:\n  keep_last: 5\n  max_age_days: {pii: 30}\n"
                               ).retention
    old_pii = _ckpt(1, 40, ("pii",))
    decision = retention.plan([old_pii], rules, set(), NOW)[0]
    assert not decision.keep and "overrides: one of the last 5" in decision.reasons[0]


@pytest.mark.parametrize("text, words", [
    ("retention:\n  keep_labels: [pii]\n  max_age_days: {pii: 30}\n", ["line 3", "pii",
                                                                       "keep one of the two"]),
    ("retention:\n  keep_last: 3\n  keep_stages: false\n", ["line 3", "never removes"]),
    ("retention:\n  keep_last: -1\n", ["line 2", "keep_last"]),
])
def test_contradictory_or_bad_rules_are_explained(text: str, words: list[str]) -> None:
    with pytest.raises(UsageError) as caught:
        settings.from_text(text)
    for word in words:
        assert word in str(caught.value), caught.value

