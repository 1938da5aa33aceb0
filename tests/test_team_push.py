"""The team path end to end: a bare server guarded by our pre-receive, clones that push in every
refspec form, and a fresh clone whose plain ``dvc pull`` must be byte-identical.

A push must carry the checkpoint's bytes, its companions (``--with``) and its data inputs
(``--data``) to the DVC remote, whatever names the refs: ``HEAD:refs/heads/main``, a bare
sha, ``HEAD``, a new branch, ``--all``, ``--mirror``, a tag. The DVC remote here is relative
(``git ckpt init --remote ../store``), as a team sharing a filesystem sets it up.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import Repo, git, git_project
from governance_fixtures import bare_remote

MODEL = "models/clf.safetensors"
COMPANION = "models/tokenizer.json"
DATA = "data/train.csv"


@dataclass
class Team:
    alice: Repo
    server: Path
    store: Path
    saved: dict


def objects_in(store: Path) -> set[str]:
    base = store / "files" / "md5"
    return {p.parent.name + p.name for p in base.glob("*/*")} if base.is_dir() else set()


def start_team(base: Path, push_mode: str = "auto") -> Team:
    """Alice adopts ckptgit with a relative DVC remote, tracks data with DVC, saves a
    checkpoint with a companion and a data input, and adds a guarded server (nothing pushed)."""
    path = git_project(base, "alice")
    alice = Repo(path, base / "store")
    alice.ckpt_ok("init", "--remote", "../store")
    cfg = path / ".ckpt" / "config.yaml"
    cfg.write_text(cfg.read_text().replace("push: auto", f"push: {push_mode}"))
    (path / "data").mkdir()
    (path / DATA).write_text("x,y\n1,2\n3,4\n")
    subprocess.run(["dvc", "add", "-q", DATA], cwd=path, check=True)
    alice.git("add", ".ckpt/config.yaml", f"{DATA}.dvc", "data/.gitignore")
    alice.git("commit", "-q", "-m", "training data")
    alice.model()
    (path / COMPANION).write_text('{"vocab": ["a", "b", "c"]}\n')
    saved = alice.save(MODEL, "clf", "--data", DATA, "--with", COMPANION)
    server = bare_remote(alice, base)
    return Team(alice, server, base / "store", saved)


def wanted(team: Team) -> set[str]:
    import yaml

    doc = yaml.safe_load((team.alice.path / f"{MODEL}.ckpt.yaml").read_text())
    art = doc["artifact"]["md5"]
    comps = {c["md5"] for c in doc["companions"]}
    data = {d["md5"] for d in doc["data"]}
    assert len(comps) == len(data) == 1
    return {art, *comps, *data}


def refspec(team: Team, form: str) -> list[str]:
    commit = team.saved["commit"]
    if form == "sha":
        return [f"{commit}:refs/heads/main"]
    if form in ("tag", "annotated-tag"):
        extra = ["-a", "-m", "experiment one"] if form == "annotated-tag" else []
        team.alice.git("tag", *extra, "exp-1", commit)
        return ["refs/tags/exp-1"]
    if form == "new-branch":
        return ["HEAD:refs/heads/experiment"]
    return {"HEAD:main": ["HEAD:refs/heads/main"], "HEAD": ["HEAD"], "--all": ["--all"],
            "--mirror": ["--mirror"]}[form]


def push(repo: Repo, *args: str, url: str = "origin") -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "push", url, *args], cwd=repo.path, capture_output=True,
                          text=True, check=False)


FORMS = ["HEAD:main", "sha", "HEAD", "new-branch", "--all", "--mirror", "tag", "annotated-tag"]


@pytest.mark.parametrize("form", FORMS)
def test_every_refspec_carries_the_bytes_and_a_fresh_clone_pulls_them(tmp_path: Path,
                                                                      form: str) -> None:
    team = start_team(tmp_path)
    assert objects_in(team.store) == set()
    done = push(team.alice, *refspec(team, form))
    assert done.returncode == 0, done.stderr
    assert wanted(team) <= objects_in(team.store)
    third = tmp_path / "carol"
    git(tmp_path, "clone", "-q", "--no-checkout", str(team.server), str(third))
    git(third, "checkout", "-q", team.saved["commit"])
    subprocess.run(["dvc", "pull", "-q"], cwd=third, check=True, capture_output=True)
    for rel in (MODEL, COMPANION, DATA):
        assert (third / rel).read_bytes() == (team.alice.path / rel).read_bytes(), rel


@pytest.mark.parametrize("form", ["sha", "--all", "tag"])
def test_push_check_refuses_every_form_until_the_bytes_are_there(tmp_path: Path,
                                                                 form: str) -> None:
    team = start_team(tmp_path, push_mode="check")
    before = git(team.server, "for-each-ref")
    done = push(team.alice, *refspec(team, form))
    assert done.returncode == 1
    assert "bytes are not on the DVC remote" in done.stderr
    for rel in (f"{MODEL}.dvc", f"{COMPANION}.dvc", f"data input {DATA}"):
        assert rel in done.stderr, rel
    assert git(team.server, "for-each-ref") == before
    assert objects_in(team.store) == set()
    subprocess.run(["dvc", "push", "-q"], cwd=team.alice.path, check=True)
    done = push(team.alice, *refspec(team, form) if form != "tag" else ["refs/tags/exp-1"])
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("form", ["new-branch", "tag"])
def test_server_refuses_refs_ahead_of_their_bytes_whatever_the_ref(tmp_path: Path,
                                                                    form: str) -> None:
    team = start_team(tmp_path)
    done = push(team.alice, "--no-verify", *refspec(team, form))  # client hook skipped
    assert done.returncode == 1
    assert "remote: ckpt pre-receive: refused:" in done.stderr
    assert f"data input {DATA}" in done.stderr and f"{COMPANION}.dvc" in done.stderr
    assert git(team.server, "for-each-ref") == ""


def test_second_teammate_saves_and_pushes_through_the_relative_remote(tmp_path: Path) -> None:
    team = start_team(tmp_path)
    assert push(team.alice, "HEAD:refs/heads/main").returncode == 0
    bob_path = tmp_path / "bob"
    git(tmp_path, "clone", "-q", str(team.server), str(bob_path))
    bob = Repo(bob_path, team.store)
    bob.ckpt_ok("hooks", "install")
    bob.ckpt_ok("restore", "clf")  # through the relative remote, from bob's own clone
    bob.model(seed=7)
    v2 = bob.save(MODEL, "clf")
    assert v2["parent"] == team.saved["id"]
    done = push(bob, f"{v2['commit']}:refs/heads/main")
    assert done.returncode == 0, done.stderr
    assert v2["artifact"]["md5"] in objects_in(team.store)
    fresh = tmp_path / "dave"
    git(tmp_path, "clone", "-q", str(team.server), str(fresh))
    subprocess.run(["dvc", "pull", "-q"], cwd=fresh, check=True, capture_output=True)
    assert (fresh / MODEL).read_bytes() == (bob_path / MODEL).read_bytes()


def test_relative_remote_is_stored_as_dvc_would(tmp_path: Path) -> None:
    team = start_team(tmp_path)
    text = (team.alice.path / ".dvc" / "config").read_text()
    assert "url = ../../store" in text  # relative to .dvc/, as 'dvc remote add' writes it


def shared_url(server: Path) -> str:
    """A git remote URL that is not a path on this machine (git's ext transport), so the hook
    must treat it as shared; it still reaches the local bare repository for the test."""
    return f"ext::git %s {server}"


def test_machine_local_dvc_remote_is_refused_for_a_shared_git_remote(tmp_path: Path) -> None:
    team = start_team(tmp_path)
    team.alice.git("config", "protocol.ext.allow", "always")
    url = shared_url(team.server)
    done = push(team.alice, "HEAD:refs/heads/main", url=url)
    assert done.returncode == 1
    assert "is a directory on this machine" in done.stderr
    assert "git ckpt remote add URL" in done.stderr
    assert git(team.server, "for-each-ref") == ""
    cfg = team.alice.path / ".ckpt" / "config.yaml"
    cfg.write_text(cfg.read_text().replace("allow_local_remote: false",
                                           "allow_local_remote: true"))
    done = push(team.alice, "HEAD:refs/heads/main", url=url)
    assert done.returncode == 0, done.stderr


def test_a_push_without_checkpoints_is_not_refused_for_a_local_remote(tmp_path: Path) -> None:
    path = git_project(tmp_path, "plain")
    repo = Repo(path, tmp_path / "store")
    repo.ckpt_ok("init")
    server = bare_remote(repo, tmp_path)
    repo.git("config", "protocol.ext.allow", "always")
    done = push(repo, "HEAD:refs/heads/main", url=shared_url(server))
    assert done.returncode == 0, done.stderr


def test_init_without_remote_says_the_remote_is_local(tmp_path: Path) -> None:
    path = git_project(tmp_path, "solo")
    res = Repo(path, tmp_path / "x").ckpt_ok("init")
    assert "directory on this machine only" in res.err
    assert "git ckpt remote add URL" in res.err
    res = Repo(path, tmp_path / "x").ckpt_ok("init", "--json")
    assert res.json()["local_remote"] is True


@pytest.mark.parametrize("sep", ["\u2028", "\x85", "\u2029", "\xa0", "\u3000"])
def test_server_reads_each_ref_name_whole(tmp_path: Path, sep: str) -> None:
    """A ref name may hold characters Python's ``split()`` takes for whitespace and
    ``splitlines()`` for line breaks (git refuses only ASCII controls and spaces): the hook
    must judge the ref pushed. Read with ``split()``, the line was skipped and the branch
    landed ahead of its bytes, its commits never checked."""
    team = start_team(tmp_path)
    done = push(team.alice, "--no-verify", f"HEAD:refs/heads/a{sep}b")
    assert done.returncode == 1, done.stderr
    assert "remote: ckpt pre-receive: refused:" in done.stderr
    assert f"{COMPANION}.dvc" in done.stderr
    assert git(team.server, "for-each-ref") == ""
