"""``git ckpt audit`` and the auditor's walkthrough of docs/audit.md, run as written."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from conftest import Repo, git


def _signing(repo: Repo, tmp_path: Path) -> None:
    key = tmp_path / "alice"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "alice", "-f",
                    str(key)], check=True)
    pub = key.with_suffix(".pub").read_text().split()
    signers = repo.path / ".ckpt/allowed_signers"
    signers.write_text(signers.read_text() + f'ada@example.com namespaces="git" {pub[0]} '
                                              f'{pub[1]}\n')
    repo.git("add", ".ckpt/allowed_signers")
    repo.git("commit", "-q", "-m", "trust alice's key")
    repo.git("config", "gpg.format", "ssh")
    repo.git("config", "user.signingkey", str(key) + ".pub")


@pytest.fixture
def project(repo: Repo, tmp_path: Path) -> Repo:
    _signing(repo, tmp_path)
    for seed, acc in ((1, "0.81"), (2, "0.86")):
        repo.model(seed=seed)
        repo.save("models/clf.safetensors", "clf", "--metric", f"acc={acc}", "--push")
    repo.ckpt_ok("promote", "clf", "--stage", "dev", "--rationale", "best accuracy so far")
    return repo


def _walkthrough() -> list[str]:
    """The shell commands of the walkthrough section of docs/audit.md, in order."""
    doc = (Path(__file__).parent.parent / "docs" / "audit.md").read_text()
    section = doc.split("## Walkthrough", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    return [ln for b in blocks for ln in b.splitlines() if ln.strip() and not ln.startswith("#")]


def test_auditor_walkthrough(project: Repo, tmp_path: Path) -> None:
    commands = _walkthrough()
    assert any("dvc pull" in c for c in commands) and any("audit --format html" in c
                                                         for c in commands)
    env_cmds = "\n".join(commands).replace("GIT_REMOTE", str(project.path))
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", env_cmds], cwd=tmp_path,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    page = (tmp_path / "audit" / "audit.html").read_text()
    assert page.index("Verdict") < page.index("Chain of custody")
    assert "every event verified" in page and "best accuracy so far" in page
    assert page.count("<td>save</td>") == 2 and "<td>promote</td>" in page


def test_markdown_summary_first_and_failures_shown(project: Repo) -> None:
    side = project.path / "models/clf.safetensors.ckpt.yaml"
    side.write_text(side.read_text().replace("acc: 0.86", "acc: 0.99"))
    project.git("commit", "-q", "--no-verify", "-am", "touch up")
    res = project.ckpt("audit", "--format", "markdown")
    assert res.code == 3
    text = res.out
    assert text.index("## Summary") < text.index("### Failures") < text.index("## Chain of")
    assert "1 event(s) failed verification" in text and "metrics.acc: 0.86 -> 0.99" in text


def test_text_and_json_in_time_order(project: Repo) -> None:
    res = project.ckpt_ok("audit")
    actions = [ln.split()[1] for ln in res.out.splitlines() if not ln.startswith(("--", " "))]
    assert actions == ["save", "save", "register", "promote"]  # a version by default
    data = project.ckpt_ok("audit", "--format", "json").json()
    assert [e["action"] for e in data["events"]] == ["save", "save", "register", "promote"]
    promote = data["events"][-1]
    assert promote["rationale"] == "best accuracy so far" and promote["status"] == "ok"
    assert "Ada Trainer" in promote["who"]
    assert data["summary"]["stages"] == {"clf#dev": data["events"][1]["id"]}
    later = project.ckpt_ok("audit", "--since", "2999-01-01", "--format", "json").json()
    assert later["events"] == []
    assert project.ckpt("audit", "--since", "yesterday").code == 2


def test_auditor_clone_sees_the_same(project: Repo, tmp_path: Path) -> None:
    clone = tmp_path / "copy"
    git(tmp_path, "clone", "-q", str(project.path), str(clone))
    res = Repo(clone, project.remote).ckpt("audit", "--format", "json")
    assert res.code == 0, res.out
