"""A commit's message, trailers, author and paths may hold any byte, including the separators
our ``git log --format`` listings split on. With fixed separators one pushed commit could add
a record of its choosing: another commit's id carrying its own changed files, so a check meant
for its sidecar read an older, well-formed one instead (the pre-receive hook reads saves this
way). Every listing must give exactly one record per commit git walked."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from conftest import git

from ckptgit.git import FIELD, RECORD, Git
from ckptgit.integrity import records

SEPS = (RECORD, FIELD, RECORD + RECORD, FIELD + RECORD)


def _project(tmp_path: Path) -> tuple[Path, Git, str]:
    path = tmp_path / "p"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    (path / "a.yaml").write_text("id: real\n")
    git(path, "add", "a.yaml")
    git(path, "commit", "-q", "-m", "first\n\nCkpt-Id: real")
    return path, Git.discover(path), git(path, "rev-parse", "HEAD").strip()


def _forged(victim: str) -> str:
    """Text that, split on fixed separators, reads as a record of ``victim``."""
    return "".join(f"x{r}{victim}{f}1700000000{f}forged{f}" for r in SEPS for f in SEPS)


def _commit(path: Path, message: str, files: dict[str, str], author: str = "A") -> str:
    for rel, text in files.items():
        (path / rel).parent.mkdir(parents=True, exist_ok=True)
        (path / rel).write_text(text)
        git(path, "add", "--", rel)
    subprocess.run(["git", "commit", "-q", "-F", "-"], cwd=path, check=True,
                   input=message.encode(),
                   env={**os.environ, "GIT_AUTHOR_NAME": author})
    return git(path, "rev-parse", "HEAD").strip()


def test_a_trailer_cannot_add_a_save_record(tmp_path: Path) -> None:
    path, repo, first = _project(tmp_path)
    hostile = _commit(path, f"second\n\nCkpt-Id: new{_forged(first)}\n", {"a.yaml": "id: new\n"})
    entries = repo.log_saves(["HEAD"], ("Ckpt-Id",))
    assert [e.commit for e in entries] == [hostile, first]
    assert entries[0].files == ("a.yaml",)  # its own change, not handed to another commit
    raw = repo.log_saves(["HEAD"], ("Ckpt-Id",), blobs=True)
    assert [e.commit for e in raw] == [hostile, first]
    assert set(raw[0].blobs) == {"a.yaml"}


def test_a_path_cannot_add_a_pushed_blob(tmp_path: Path) -> None:
    path, repo, first = _project(tmp_path)
    name = f"b{RECORD}{first}\n"[:60].replace("\n", "") + ".yaml"
    hostile = _commit(path, "paths", {name: "x: 1\n"})
    found = repo.new_blobs([hostile, "--not", first], ["*.yaml"])
    assert [(c, p) for c, p, _, _ in found] == [(hostile, name)]


def test_a_message_cannot_add_a_record(tmp_path: Path) -> None:
    path, repo, first = _project(tmp_path)
    message = f"record{_forged(first)}"
    tree = git(path, "rev-parse", "HEAD^{tree}").strip()
    commit = subprocess.run(["git", "commit-tree", tree, "-F", "-"], cwd=path, check=True,
                            input=message.encode(), capture_output=True).stdout.decode().strip()
    git(path, "update-ref", "refs/ckpt/test", commit)
    found = repo.records("refs/ckpt/test")
    assert [c for c, _, _ in found] == [commit]
    assert found[0][2].startswith("record")


def test_a_migration_log_cannot_add_a_commit(tmp_path: Path) -> None:
    path, repo, first = _project(tmp_path)
    hostile = _commit(path, f"m\n\n{records.MIGRATE_TRAILER}: v1{_forged(first)}\n",
                      {"a.yaml": "id: m\n"}, author=f"Eve{RECORD}{first}{FIELD}")
    rows = records._log(repo, "HEAD", ["a.yaml"])
    assert [c for c, _, _ in rows] == [first, hostile]
    assert rows[1][2] == ["a.yaml"]


BREAKS = ("\u2028", "\x85", "\u2029", "\x1c")
REF_BREAKS = BREAKS[:3]  # git refuses ASCII controls in ref names, not in paths


def test_names_and_paths_with_unicode_breaks_are_read_whole(tmp_path: Path) -> None:
    """git allows these in ref names and paths; Python's ``splitlines`` breaks on them."""
    path, repo, first = _project(tmp_path)
    names = [f"models/m{b}x.dvc" for b in BREAKS]
    commit = _commit(path, "odd paths", {n: f"outs: {i}\n" for i, n in enumerate(names)})
    for b in REF_BREAKS:
        git(path, "tag", f"t{b}clf#prod#1", first)
    refs = repo.for_each_ref("refs/tags/")
    assert sorted(r.name for r in refs) == sorted(f"refs/tags/t{b}clf#prod#1" for b in REF_BREAKS)
    assert repo.for_each_ref_many([r.name for r in refs]) == refs
    kept = repo.blobs_named(lambda p: p.endswith(".dvc"))
    assert len(kept) == len(names)
    ids = repo.object_ids([f"{commit}:{n}" for n in names] + [f"{commit}:gone{BREAKS[0]}x"])
    assert [v is not None for v in ids.values()] == [True] * len(names) + [False]
    assert repo.peel_commits([f"t{b}clf#prod#1" for b in REF_BREAKS] + ["HEAD"]) == {
        **{f"t{b}clf#prod#1": first for b in REF_BREAKS}, "HEAD": commit}


def test_changed_paths_are_read_exactly(tmp_path: Path) -> None:
    """A path may start or end with a line break: it is another file than the one without."""
    path, repo, first = _project(tmp_path)
    odd = ["\nlead.yaml", "trail.yaml\n", "\n\nboth\n"]
    commit = _commit(path, "odd\n\nCkpt-Id: odd", {n: "x: 1\n" for n in odd})
    for blobs in (False, True):
        entry = repo.log_saves(["HEAD"], ("Ckpt-Id",), blobs=blobs)[0]
        assert entry.commit == commit
        assert sorted(entry.files) == sorted(odd), blobs
