"""The pull-request flow's CI templates: installed by ``init --ci``, safe by construction."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import Repo

from ckptgit.ops.ci import LAYOUT
from ckptgit.resources import resource_dir

WORKFLOWS = sorted((resource_dir("templates") / "github" / "workflows").glob("*.yml"))


def _on(doc: dict[Any, Any]) -> dict[str, Any]:
    return doc.get("on", doc.get(True))  # YAML 1.1 reads a bare `on` as true


def _runs(doc: dict[str, Any]) -> list[str]:
    return [str(step.get("run", "")) for job in doc["jobs"].values() for step in job["steps"]]


@pytest.mark.parametrize("kind", ["github", "gitlab"])
def test_init_installs_the_ci_templates_once(repo: Repo, kind: str) -> None:
    out = repo.ckpt_ok("init", "--ci", kind, "--json").json()
    wanted = set(LAYOUT[kind].values())
    assert wanted <= set(out["created"])
    assert repo.git("status", "--porcelain") == ""  # committed with the set-up
    first = next(iter(wanted))
    (repo.path / first).write_text("# ours now\n")
    again = repo.ckpt_ok("init", "--ci", kind, "--json").json()
    assert not wanted & set(again["created"])
    assert (repo.path / first).read_text() == "# ours now\n"


def test_review_workflow_runs_without_secrets_on_the_base_branch() -> None:
    docs = {p.name: yaml.safe_load(p.read_text()) for p in WORKFLOWS}
    assert set(docs) == {"ckpt-review.yml", "ckpt-promote.yml", "ckpt-verify.yml"}
    for name, doc in docs.items():
        assert "pull_request_target" not in _on(doc), name
    review = docs["ckpt-review.yml"]
    assert set(_on(review)) == {"pull_request"}
    assert "secrets." not in (WORKFLOWS[[p.name for p in WORKFLOWS].index("ckpt-review.yml")]
                              .read_text())
    checkout = review["jobs"]["review"]["steps"][0]
    assert checkout["with"]["ref"] == "${{ github.event.pull_request.base.sha }}"
    runs = "\n".join(_runs(review))
    assert "git ckpt review --rev refs/remotes/pr/head --format markdown" in runs
    assert "git ckpt verify" in runs
    promote = "\n".join(_runs(docs["ckpt-promote.yml"]))
    assert 'git ckpt promote --request "$request"' in promote
    assert "git ckpt verify" in "\n".join(_runs(docs["ckpt-verify.yml"]))


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_actionlint_passes(workflow: Path) -> None:
    tool = shutil.which("actionlint")
    assert tool is not None, "actionlint is part of the test extra: pip install -e '.[test]'"
    done = subprocess.run([tool, "-no-color", str(workflow)], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr
