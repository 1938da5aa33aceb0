"""A cold index rebuild reads the sidecar ``show`` and ``verify`` read: the one at the path
the row names, in the commit, read from git exactly as named (hostile commits)."""

from __future__ import annotations

import shutil

from conftest import Repo

MODEL = "models/clf.safetensors"
SIDE = MODEL + ".ckpt.yaml"
OTHER_ID = "00000000000000aa"


def _cold_list(repo: Repo) -> dict[str, dict[str, object]]:
    for path in (repo.path / ".git" / "ckpt").glob("index-v*.json"):
        path.unlink()
    return {c["id"]: c for c in repo.ckpt_ok("list", "--json").json()}


def _commit(repo: Repo, paths: list[str], ckpt_id: str, name: str) -> None:
    repo.git("add", "--", *paths)
    message = f"ckpt: {name}\n\nCkpt-Id: {ckpt_id}\nCkpt-Name: {name}\n"
    repo.git("commit", "-q", "--no-verify", "-m", message)  # an attacker skips the hooks


def test_a_sidecar_naming_another_artifact_is_never_listed(repo: Repo) -> None:
    repo.model(MODEL)
    saved = repo.save(MODEL, "clf")
    text = (repo.path / SIDE).read_text().replace(saved["id"], OTHER_ID)
    # the log lists models/a.ckpt.yaml first; its artifact is models/clf.safetensors, whose own
    # sidecar (what show and verify read for the row) says another name
    (repo.path / "models/a.ckpt.yaml").write_text(text.replace("name: clf\n", "name: good\n"))
    shutil.copy(repo.path / (MODEL + ".dvc"), repo.path / "models/a.dvc")
    (repo.path / SIDE).write_text(text.replace("name: clf\n", "name: evil\n"))
    _commit(repo, ["models/a.ckpt.yaml", "models/a.dvc", SIDE], OTHER_ID, "good")
    listed = _cold_list(repo)
    assert saved["id"] in listed and OTHER_ID not in listed  # a forged save, never listed
    found = repo.ckpt("verify", "--all", "--offline", "--allow-missing")
    assert found.code != 0 and "names another artifact" in found.out + found.err


def test_a_path_with_a_line_break_is_read_as_named(repo: Repo) -> None:
    repo.model(MODEL)
    saved = repo.save(MODEL, "clf")
    text = (repo.path / SIDE).read_text().replace(saved["id"], OTHER_ID)
    renamed = "\n" + SIDE  # SIDE itself stays the genuine save's, unchanged in this commit
    (repo.path / renamed).parent.mkdir()
    shutil.copy(repo.path / (MODEL + ".dvc"), repo.path / ("\n" + MODEL + ".dvc"))
    (repo.path / renamed).write_text(text.replace("name: clf\n", "name: evil\n"))
    _commit(repo, [renamed, "\n" + MODEL + ".dvc"], OTHER_ID, "evil")
    listed = _cold_list(repo)
    assert listed[saved["id"]]["name"] == "clf"
    for row in listed.values():
        shown = repo.ckpt_ok("show", str(row["id"]), "--json").json()
        assert row["name"] == shown["name"]
