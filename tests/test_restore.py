"""``git ckpt restore``: bytes back from cache or remote, sealed, without touching the branch."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from conftest import Repo, git

from ckptgit import storage
from ckptgit.ops.fsck import fsck
from ckptgit.repo import Repo as CkptRepo

MODEL = "models/clf.safetensors"


def _clone(repo: Repo, name: str) -> Repo:
    dest = repo.path.parent / name
    git(repo.path.parent, "clone", "-q", str(repo.path), str(dest))
    return Repo(dest, repo.remote)


def _saves(repo: Repo, n: int, push: bool = True) -> list[tuple[dict[str, object], bytes]]:
    out = []
    for i in range(n):
        path = repo.model(seed=i)
        extra = ("--push",) if push else ()
        out.append((repo.save(MODEL, "clf", *extra), path.read_bytes()))
    return out


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_fresh_clone_restores_like_dvc_pull(repo: Repo) -> None:
    saves = _saves(repo, 3)
    older, older_bytes = saves[1]
    clone = _clone(repo, "clone")
    assert not (clone.path / MODEL).exists()
    assert not (clone.path / ".dvc" / "cache").exists()
    res = clone.ckpt_ok("restore", "clf~1", "--json").json()
    restored = clone.path / MODEL
    assert restored.read_bytes() == older_bytes
    assert res["sha256"] == older["artifact"]["sha256"] == _sha(restored)  # type: ignore[index]
    assert clone.git("status", "--porcelain") == f" M {MODEL}.dvc\n"  # points at the bytes out

    # plain DVC, without ckptgit, at that checkpoint's commit, in another fresh clone
    other = _clone(repo, "other")
    other.git("checkout", "-q", str(older["commit"]))
    done = subprocess.run(["dvc", "pull", "-q"], cwd=other.path, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert (other.path / MODEL).read_bytes() == restored.read_bytes()


def test_restore_to_a_directory(repo: Repo) -> None:
    saves = _saves(repo, 2, push=False)
    target = repo.path.parent / "serving"
    res = repo.ckpt_ok("restore", "clf~1", "--to", str(target), "--json").json()
    assert Path(res["path"]) == target / "clf.safetensors"
    assert (target / "clf.safetensors").read_bytes() == saves[0][1]
    assert (repo.path / MODEL).read_bytes() == saves[1][1]  # the work tree copy is untouched
    file_target = repo.path.parent / "a-file"
    file_target.write_text("x")
    res2 = repo.ckpt("restore", "clf", "--to", str(file_target))
    assert res2.code == 2 and res2.err.startswith("error:")


def test_restore_keeps_branch_head_and_status(repo: Repo) -> None:
    saves = _saves(repo, 2, push=False)
    repo.git("checkout", "-q", "-b", "experiment")
    (repo.path / "train.py").write_text("print('wip')\n")
    repo.git("add", "train.py")
    (repo.path / "README.md").write_text("# unstaged\n")
    head, status = repo.git("rev-parse", "HEAD"), repo.git("status", "--porcelain")
    cached = repo.git("diff", "--cached")
    repo.ckpt_ok("restore", "clf~1")
    assert (repo.path / MODEL).read_bytes() == saves[0][1]
    assert repo.git("rev-parse", "HEAD") == head
    assert repo.git("symbolic-ref", "--short", "HEAD").strip() == "experiment"
    assert repo.git("diff", "--cached") == cached  # nothing staged changes
    # the work tree's .dvc pointer describes the bytes beside it: 'dvc status' is clean, and git
    # shows the pointer modified while the older checkpoint is out
    assert saves[0][0]["artifact"]["md5"] in (repo.path / f"{MODEL}.dvc").read_text()  # type: ignore[index]
    assert sorted(repo.git("status", "--porcelain").splitlines()) == sorted(
        [*status.splitlines(), f" M {MODEL}.dvc"])
    dvc = subprocess.run(["dvc", "status", "-q"], cwd=repo.path, check=False)
    assert dvc.returncode == 0
    leftovers = fsck(CkptRepo.open(repo.path), remote=False)
    assert [p.kind for p in leftovers] == []  # a restore is not mistaken for a killed save
    repo.ckpt_ok("restore", "clf")
    assert repo.git("status", "--porcelain") == status


def test_restore_in_a_fresh_clone_on_another_branch(repo: Repo) -> None:
    saves = _saves(repo, 2)
    clone = _clone(repo, "clone")
    clone.git("checkout", "-q", "-b", "topic")
    head = clone.git("rev-parse", "HEAD")
    clone.ckpt_ok("restore", saves[0][0]["id"])  # type: ignore[arg-type]
    assert (clone.path / MODEL).read_bytes() == saves[0][1]
    assert clone.git("rev-parse", "HEAD") == head
    assert clone.git("status", "--porcelain") == f" M {MODEL}.dvc\n"


def test_remote_lacking_the_object_is_exit_3(repo: Repo) -> None:
    [(_, first_bytes)] = _saves(repo, 1)
    repo.model(seed=7)
    repo.save()  # not pushed
    clone = _clone(repo, "clone")
    clone.ckpt_ok("restore", "clf~1")
    path = clone.path / MODEL
    assert path.read_bytes() == first_bytes
    res = clone.run_git_ckpt("restore", "clf")  # a real process: DVC's own logging shows
    assert res.returncode == 3, res
    assert res.stderr.startswith("error: bytes of clf"), res.stderr
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert "dvc push" in res.stderr
    assert path.read_bytes() == first_bytes
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")
                and p.name != ".gitignore"]


def test_corrupt_cache_object_is_exit_3_and_destination_untouched(repo: Repo) -> None:
    saves = _saves(repo, 2, push=False)
    obj = storage.object_path(repo.path, saves[0][0]["artifact"]["md5"])  # type: ignore[index]
    os.chmod(obj, 0o644)
    data = bytearray(obj.read_bytes())
    data[len(data) // 2] ^= 0xFF
    obj.write_bytes(bytes(data))
    work = repo.path / MODEL
    res = repo.ckpt("restore", "clf~1")
    assert res.code == 3, res
    assert "do not match the recorded seal" in res.err
    assert work.read_bytes() == saves[1][1]
    target = repo.path.parent / "out"
    target.mkdir()
    (target / "clf.safetensors").write_bytes(b"previous")
    res = repo.ckpt("restore", "clf~1", "--to", str(target), "--force")
    assert res.code == 3
    assert (target / "clf.safetensors").read_bytes() == b"previous"
    assert sorted(p.name for p in target.iterdir()) == ["clf.safetensors"]


def test_refuses_to_overwrite_unsaved_bytes(repo: Repo) -> None:
    saves = _saves(repo, 2, push=False)
    work = repo.path / MODEL
    work.write_bytes(b"fresh weights nobody saved")
    res = repo.ckpt("restore", "clf~1")
    assert res.code == 2 and "--force" in res.err
    assert work.read_bytes() == b"fresh weights nobody saved"
    repo.ckpt_ok("restore", "clf~1", "--force")
    assert work.read_bytes() == saves[0][1]
    # bytes some checkpoint holds may be replaced without --force
    repo.ckpt_ok("restore", "clf")
    assert work.read_bytes() == saves[1][1]


def test_restore_a_directory_checkpoint_from_a_fresh_clone(repo: Repo) -> None:
    out = repo.path / "out" / "tok"
    (out / "sub").mkdir(parents=True)
    (out / "vocab.txt").write_text("a\nb\n")
    (out / "sub" / "merges.txt").write_text("a b\n")
    repo.save("out/tok", "tok", "--push")
    (out / "vocab.txt").write_text("a\nb\nc\n")
    repo.save("out/tok", "tok", "--push")
    clone = _clone(repo, "clone")
    clone.ckpt_ok("restore", "tok~1")
    got = clone.path / "out" / "tok"
    assert (got / "vocab.txt").read_text() == "a\nb\n"
    assert (got / "sub" / "merges.txt").read_text() == "a b\n"
    clone.ckpt_ok("restore", "tok")
    assert (got / "vocab.txt").read_text() == "a\nb\nc\n"
    (got / "vocab.txt").write_text("edited, never saved\n")
    res = clone.ckpt("restore", "tok~1")
    assert res.code == 2 and "--force" in res.err
    assert (got / "vocab.txt").read_text() == "edited, never saved\n"
    clone.ckpt_ok("restore", "tok~1", "--force")
    assert (got / "vocab.txt").read_text() == "a\nb\n"
    shutil.rmtree(got)
    clone.ckpt_ok("restore", "tok~1", "--to", str(clone.path.parent / "tok-old"))
    assert (clone.path.parent / "tok-old" / "tok" / "vocab.txt").read_text() == "a\nb\n"


def test_corrupt_remote_object_is_exit_3_named_and_left_in_place(repo: Repo) -> None:
    """A read never modifies the remote: DVC's fetch deletes a corrupt remote object; ours
    verifies the download beside the cache and adopts it only when it hashes right."""
    [(saved, _)] = _saves(repo, 1)
    md5 = saved["artifact"]["md5"]  # type: ignore[index]
    on_remote = repo.remote / "files" / "md5" / md5[:2] / md5[2:]
    os.chmod(on_remote, 0o644)
    corrupt = bytearray(on_remote.read_bytes())
    corrupt[-1] ^= 0xFF
    on_remote.write_bytes(bytes(corrupt))
    clone = _clone(repo, "clone")
    res = clone.run_git_ckpt("restore", "clf")
    assert res.returncode == 3, res
    assert md5 in res.stderr and "corrupt" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert on_remote.read_bytes() == bytes(corrupt)  # still there for its owner to inspect
    assert not storage.object_path(clone.path, md5).exists()  # nothing corrupt adopted
    assert not (clone.path / MODEL).exists()
    cache_tmp = storage.cache_root(clone.path) / "tmp"
    assert not cache_tmp.exists() or not list(cache_tmp.iterdir())


def test_restore_leaves_dvc_status_clean(repo: Repo) -> None:
    _saves(repo, 2, push=False)
    for ref in ("clf~1", "clf"):
        repo.ckpt_ok("restore", ref)
        done = subprocess.run(["dvc", "status", "--json"], cwd=repo.path, capture_output=True,
                              text=True, check=True)
        assert done.stdout.strip() == "{}", (ref, done.stdout)
