"""``git ckpt verify``: tamper with each copy of the bytes and each record, one at a time."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import Repo, git, write_model

from ckptgit import storage


def flip(path: Path, offset: int = 200) -> None:
    """Flip one byte, as bit rot or a careless edit would."""
    os.chmod(path, 0o644)  # DVC keeps cache objects read-only
    with open(path, "r+b") as fh:
        fh.seek(offset)
        byte = fh.read(1)
        fh.seek(offset)
        fh.write(bytes([byte[0] ^ 0xFF]))


def cache_object(repo: Repo, md5: str) -> Path:
    return storage.object_path(repo.path, md5)


@pytest.fixture
def saved(repo: Repo) -> tuple[Repo, dict]:
    repo.model(seed=1)
    repo.save("models/clf.safetensors", "clf", "--metric", "acc=0.9", "--push")
    repo.model(seed=2)
    second = repo.save("models/clf.safetensors", "clf", "--metric", "acc=0.91", "--push")
    return repo, second


def test_clean_repo_verifies(saved: tuple[Repo, dict]) -> None:
    repo, second = saved
    res = repo.ckpt("verify", "--all")
    assert res.code == 0, res.out + res.err
    assert res.out == ""
    assert "2 ok" in res.err
    data = repo.ckpt("verify", "--json").json()
    assert data["ok"] is True
    newest = next(c for c in data["checkpoints"] if c["id"] == second["id"])
    assert newest["verified_from"] == ["workspace", "cache"]


def test_workspace_byte_flip(saved: tuple[Repo, dict]) -> None:
    repo, second = saved
    flip(repo.path / "models/clf.safetensors")
    res = repo.ckpt("verify", "--all")
    assert res.code == 3
    lines = res.out.splitlines()
    assert len(lines) == 1, res.out
    assert lines[0].startswith(f"clf {second['id'][:8]}: models/clf.safetensors in the work tree "
                               "does not match the seal")


def test_older_checkpoint_restored_into_the_work_tree_is_not_tampering(
        saved: tuple[Repo, dict]) -> None:
    repo, second = saved
    repo.ckpt_ok("restore", "clf~1")  # the work tree now holds the first save's bytes
    res = repo.ckpt("verify", "--all")
    assert res.code == 0, res.out + res.err
    data = repo.ckpt("verify", "--json").json()
    newest = next(c for c in data["checkpoints"] if c["id"] == second["id"])
    assert newest["verified_from"] == ["cache"]
    # restore points the work tree's .dvc at the bytes it wrote: they verify as the first save
    first = next(c for c in data["checkpoints"] if c["id"] != second["id"])
    assert "workspace" in first["verified_from"]


def test_cache_object_byte_flip_detected_by_md5_and_sha256(saved: tuple[Repo, dict]) -> None:
    repo, second = saved
    md5 = second["artifact"]["md5"]
    flip(cache_object(repo, md5))
    res = repo.ckpt("verify", "--all")
    assert res.code == 3
    assert "the cache object of models/clf.safetensors does not match the seal" in res.out
    assert "is corrupt: md5 " in res.out and f"!= {md5}" in res.out
    assert all(line.startswith(f"clf {second['id'][:8]}:") for line in res.out.splitlines())


def test_remote_object_byte_flip(saved: tuple[Repo, dict], tmp_path: Path) -> None:
    repo, second = saved
    clone = tmp_path / "auditor"
    git(tmp_path, "clone", "-q", str(repo.path), str(clone))
    auditor = Repo(clone, repo.remote)
    assert auditor.ckpt("verify", "--all").code == 0  # straight from the remote, nothing cached
    assert not any((clone / ".dvc" / "cache").rglob("*")) or not list(
        (clone / ".dvc" / "cache" / "files").rglob("??/*"))
    remote_obj = repo.remote / "files" / "md5" / second["artifact"]["md5"][:2] / \
        second["artifact"]["md5"][2:]
    flip(remote_obj)
    res = auditor.ckpt("verify", "--all")
    assert res.code == 3
    assert res.out.startswith(f"clf {second['id'][:8]}: the DVC remote object of "
                              "models/clf.safetensors does not match the seal")


def test_missing_everywhere_is_unverifiable(repo: Repo) -> None:
    repo.model(seed=3)
    saved = repo.save()
    cache_object(repo, saved["artifact"]["md5"]).unlink()
    (repo.path / "models/clf.safetensors").unlink()
    res = repo.ckpt("verify")
    assert res.code == 3
    assert "unverifiable" in res.out and "models/clf.safetensors" in res.out
    assert repo.ckpt("verify", "--allow-missing").code == 0
    assert repo.ckpt("verify", "--offline", "--json").json()["checkpoints"][0]["status"] == \
        "unverifiable"


def test_offline_never_reads_the_remote(saved: tuple[Repo, dict], tmp_path: Path) -> None:
    repo, _ = saved
    clone = tmp_path / "offline"
    git(tmp_path, "clone", "-q", str(repo.path), str(clone))
    res = Repo(clone, repo.remote).ckpt("verify", "--offline")
    assert res.code == 3 and res.out.count("unverifiable") == 2


def test_sidecar_edited_and_committed_by_hand(saved: tuple[Repo, dict]) -> None:
    repo, second = saved
    side = repo.path / "models/clf.safetensors.ckpt.yaml"
    side.write_text(side.read_text().replace("acc: 0.91", "acc: 0.99"))
    repo.git("commit", "-q", "--no-verify", "-am", "better numbers")
    edit = repo.git("rev-parse", "HEAD").strip()
    res = repo.ckpt("verify", "--all")
    assert res.code == 3
    assert (f"clf {second['id'][:8]}: models/clf.safetensors.ckpt.yaml was changed after its "
            f"save by commit {edit[:12]}, which is not a save: metrics.acc: 0.91 -> 0.99"
            ) in res.out


def test_pointer_swapped_by_hand(saved: tuple[Repo, dict]) -> None:
    repo, second = saved
    first_ptr = repo.git("show", "HEAD~1:models/clf.safetensors.dvc")
    (repo.path / "models/clf.safetensors.dvc").write_text(first_ptr)
    repo.git("commit", "-q", "--no-verify", "-am", "roll back the weights quietly")
    res = repo.ckpt("verify", "--all")
    assert res.code == 3
    assert "models/clf.safetensors.dvc was changed after its save" in res.out
    assert "outs" in res.out  # the changed field is named


def test_uncommitted_sidecar_edit(saved: tuple[Repo, dict]) -> None:
    repo, second = saved
    side = repo.path / "models/clf.safetensors.ckpt.yaml"
    side.write_text(side.read_text().replace("acc: 0.91", "acc: 0.95"))
    res = repo.ckpt("verify", "clf")
    assert res.code == 3
    assert "in the work tree was edited after the save (not committed): metrics.acc" in res.out


def test_directory_checkpoint(repo: Repo) -> None:
    for i in range(3):
        write_model(repo.path / "out/tok" / f"part{i}.safetensors", seed=i)
    saved = repo.save("out/tok", "tok")
    assert repo.ckpt("verify", "tok").code == 0
    listing = storage.dir_entries(repo.path, saved["artifact"]["md5"])
    flip(cache_object(repo, listing[1][1]))
    res = repo.ckpt("verify", "tok")
    assert res.code == 3
    assert "the cache object of out/tok does not match the seal" in res.out
    assert f"({listing[1][0]}) is corrupt: md5" in res.out


def _signing_key(repo: Repo, tmp_path: Path, who: str = "alice@example.com") -> Path:
    key = tmp_path / who.split("@")[0]
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", who, "-f", str(key)],
                   check=True)
    pub = key.with_suffix(".pub").read_text().split()
    signers = repo.path / ".ckpt/allowed_signers"
    signers.write_text(signers.read_text() + f'{who} namespaces="git" {pub[0]} {pub[1]}\n')
    repo.git("config", "gpg.format", "ssh")
    repo.git("config", "user.signingkey", str(key) + ".pub")
    return key


def _promote_by_hand(repo: Repo, ckpt: dict, tag: str = "clf#staging#1") -> None:
    message = (f"Promote clf to production\n\nCkpt-Action: promote\nCkpt-Id: {ckpt['id']}\n"
               f"Ckpt-Seal: sha256:{ckpt['artifact']['sha256']}\nRationale: best accuracy\n"
               "Approved-By: bob@example.com\n")
    subprocess.run(["git", "tag", "-s", "-F", "-", tag, ckpt["commit"]], cwd=repo.path,
                   input=message, text=True, check=True, capture_output=True)


def test_tag_message_rebuilt_with_mktag(saved: tuple[Repo, dict], tmp_path: Path) -> None:
    repo, second = saved
    _signing_key(repo, tmp_path)
    _promote_by_hand(repo, second)
    assert repo.ckpt("verify", "--all").code == 0
    raw = subprocess.run(["git", "cat-file", "tag", "clf#staging#1"], cwd=repo.path,
                         capture_output=True, check=True).stdout
    forged = raw.replace(b"Rationale: best accuracy", b"Rationale: best accuracz")
    new = subprocess.run(["git", "mktag"], cwd=repo.path, input=forged, capture_output=True,
                         check=True).stdout.decode().strip()
    repo.git("update-ref", "refs/tags/clf#staging#1", new)
    res = repo.ckpt("verify", "--all")
    assert res.code == 3
    assert res.out.startswith("clf#staging#1: bad signature"), res.out


def test_tag_seal_must_match_the_checkpoint(saved: tuple[Repo, dict], tmp_path: Path) -> None:
    repo, second = saved
    _signing_key(repo, tmp_path)
    wrong = dict(second, artifact=dict(second["artifact"], sha256="0" * 64))
    _promote_by_hand(repo, wrong)
    res = repo.ckpt("verify", "--all")
    assert res.code == 3
    assert "clf#staging#1: Ckpt-Seal sha256:0000000000000000… is not the seal" in res.out


def test_revoked_signer_is_reported(saved: tuple[Repo, dict], tmp_path: Path) -> None:
    repo, second = saved
    key = _signing_key(repo, tmp_path)
    _promote_by_hand(repo, second)
    (repo.path / ".ckpt/revoked_signers").write_text(key.with_suffix(".pub").read_text())
    res = repo.ckpt("verify", "--all")
    assert res.code == 3
    assert res.out.startswith("clf#staging#1: signed by a revoked key"), res.out


def test_unsigned_tag_is_reported(saved: tuple[Repo, dict]) -> None:
    repo, second = saved
    repo.git("tag", "-a", "-m", f"x\n\nCkpt-Action: promote\nCkpt-Id: {second['id']}\n"
             "Rationale: r\n", "clf#dev#1", second["commit"])
    res = repo.ckpt("verify", "--all")
    assert res.code == 3 and res.out.startswith("clf#dev#1: not signed")


def test_real_subprocess(saved: tuple[Repo, dict]) -> None:
    repo, _ = saved
    done = repo.run_git_ckpt("verify", "--all")
    assert done.returncode == 0, done.stderr
    shutil.rmtree(repo.path / ".dvc" / "cache")
    (repo.path / "models/clf.safetensors").unlink()
    done = repo.run_git_ckpt("verify", "--all", "--offline")
    assert done.returncode == 3 and "unverifiable" in done.stdout


def test_labels_and_notes_may_change(saved: tuple[Repo, dict]) -> None:
    repo, _ = saved
    side = repo.path / "models/clf.safetensors.ckpt.yaml"
    side.write_text(side.read_text().replace("labels: []", "labels:\n- reviewed"))
    repo.git("commit", "-q", "-am", "label it")
    assert repo.ckpt("verify", "--all").code == 0
