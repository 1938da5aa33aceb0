"""Racing processes in one repository, as real ``git ckpt`` subprocesses started together.

Exact outcomes: saves of different names all land; saves of one name all land as one chain
of parents; of two saves of one new name from different paths exactly one lands; racing
promotions into one stage each get their own counter; a save racing a user's ``git commit``
lands without losing the user's commit or their staged work.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from conftest import Repo, make_repo
from governance_fixtures import Keys, govern


def start(repo: Repo, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(["git", "ckpt", *args], cwd=repo.path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finish(procs: list[subprocess.Popen[str]]) -> list[tuple[int, str, str]]:
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=300)
        out.append((p.returncode, stdout, stderr))
    return out


def saves_in_history(repo: Repo) -> list[str]:
    """Ckpt-Id of every save commit on HEAD, oldest first."""
    text = repo.git("log", "--reverse", "--format=%(trailers:key=Ckpt-Id,valueonly)")
    return [line.strip() for line in text.splitlines() if line.strip()]


def list_json(repo: Repo) -> list[dict]:
    return repo.ckpt_ok("list", "--json").json()


def test_four_saves_of_different_names_all_land(repo: Repo) -> None:
    for i in range(4):
        repo.model(f"models/m{i}.safetensors", seed=i)
    procs = [start(repo, "save", f"models/m{i}.safetensors", "-n", f"m{i}", "-q")
             for i in range(4)]
    results = finish(procs)
    assert [r[0] for r in results] == [0] * 4, results
    assert len(saves_in_history(repo)) == 4
    assert sorted(c["name"] for c in list_json(repo)) == ["m0", "m1", "m2", "m3"]
    assert repo.git("status", "--porcelain") == ""
    repo.ckpt_ok("verify", "--all")


def test_four_saves_of_one_name_land_as_one_chain(repo: Repo) -> None:
    repo.model()
    procs = [start(repo, "save", "models/clf.safetensors", "-n", "clf", "-q", "--note", str(i))
             for i in range(4)]
    results = finish(procs)
    assert [r[0] for r in results] == [0] * 4, results
    order = saves_in_history(repo)
    assert len(order) == 4
    import yaml

    parents = []
    for ckpt_id in order:
        commit = repo.git("log", "--format=%H", f"--grep=Ckpt-Id: {ckpt_id}").split()[0]
        doc = yaml.safe_load(repo.git("show", f"{commit}:models/clf.safetensors.ckpt.yaml"))
        parents.append(doc["parent"])
    assert parents == [None, *order[:-1]]  # each parent is the save that landed before it
    assert repo.git("status", "--porcelain") == ""
    repo.ckpt_ok("verify", "--all")


def test_two_saves_of_one_new_name_from_two_paths_exactly_one_lands(repo: Repo) -> None:
    repo.model("models/a.safetensors", seed=1)
    repo.model("models/b.safetensors", seed=2)
    results = finish([start(repo, "save", "models/a.safetensors", "-n", "clf", "-q"),
                      start(repo, "save", "models/b.safetensors", "-n", "clf", "-q")])
    codes = sorted(r[0] for r in results)
    assert codes == [0, 2], results
    loser = next(r for r in results if r[0] == 2)
    assert "checkpoint 'clf' lives at" in loser[2]
    assert "Traceback" not in loser[2]
    assert len(saves_in_history(repo)) == 1
    assert [c["name"] for c in list_json(repo)] == ["clf"]


def test_four_promotions_into_one_stage_each_get_their_own_counter(tmp_path: Path,
                                                                   keys: Keys) -> None:
    repo = make_repo(tmp_path)
    govern(repo, keys)
    ids = []
    for i in range(4):
        repo.model(seed=i)
        ids.append(repo.save("models/clf.safetensors", "clf")["id"])
    procs = [start(repo, "promote", ckpt_id, "--stage", "dev", "--rationale", f"try {n}")
             for n, ckpt_id in enumerate(ids)]
    results = finish(procs)
    assert [r[0] for r in results] == [0] * 4, results
    tags = sorted(repo.git("tag", "-l", "clf#dev#*").split())
    assert tags == [f"clf#dev#{n}" for n in range(1, 5)]
    targets = {repo.git("rev-parse", f"{t}^{{commit}}").strip() for t in tags}
    assert len(targets) == 4  # one tag per checkpoint, none lost, none doubled
    done = repo.ckpt_ok("verify", "--all")
    assert done.code == 0


def test_a_save_during_a_users_git_commit_both_land(repo: Repo) -> None:
    repo.model()
    notes = repo.path / "notes"
    notes.mkdir()
    save = start(repo, "save", "models/clf.safetensors", "-n", "clf", "-q")
    committed, i = 0, 0
    while save.poll() is None and i < 300:  # commit for as long as the save runs
        i += 1
        (notes / f"n{i}.txt").write_text(f"note {i}\n")
        repo.git("add", f"notes/n{i}.txt")
        done = subprocess.run(["git", "commit", "-q", "-m", f"note {i}"], cwd=repo.path,
                              capture_output=True, text=True, check=False)
        committed += done.returncode == 0
    [(code, _, err)] = finish([save])
    assert code == 0, err
    assert len(saves_in_history(repo)) == 1
    tracked = repo.git("ls-files", "notes").split()
    assert i > 1 and len(tracked) == i  # every note is committed or still staged: none lost
    assert len(repo.git("ls-tree", "-r", "--name-only", "HEAD", "notes").split()) >= committed
    status = repo.git("status", "--porcelain")
    assert "clf.safetensors" not in status, status  # the save's records are in the index
    repo.git("commit", "-q", "--allow-empty", "-m", "rest of the notes")  # the hook accepts it
    assert len(repo.git("ls-tree", "-r", "--name-only", "HEAD", "notes").split()) == i
    repo.ckpt_ok("verify", "--all")

