"""``git ckpt save``: one commit, only our files, the user's work untouched, a full sidecar."""

from __future__ import annotations

import hashlib
import json
import os
import struct
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from conftest import Repo

from ckptgit import sidecar

MODEL = "models/clf.safetensors"
VALUES = (".ckpt/metrics/clf.json", ".ckpt/params/clf.yaml")  # for dvc metrics/params diff


def _sidecar(repo: Repo, rel: str = MODEL, rev: str = "HEAD") -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(repo.git("show", f"{rev}:{rel}.ckpt.yaml"))
    return doc


def _pointer(repo: Repo, rel: str = MODEL, rev: str = "HEAD") -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(repo.git("show", f"{rev}:{rel}.dvc"))
    return doc["outs"][0]


def _changed(repo: Repo, rev: str = "HEAD") -> set[str]:
    return set(repo.git("diff-tree", "--no-commit-id", "--name-only", "-r", rev).split())


def _trailers(repo: Repo, rev: str = "HEAD") -> dict[str, str]:
    body = repo.git("log", "-1", "--format=%B", rev)
    done = subprocess.run(["git", "interpret-trailers", "--parse"], input=body, text=True,
                          capture_output=True, check=True, cwd=repo.path)
    return dict(line.split(": ", 1) for line in done.stdout.splitlines())


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()


def _state(repo: Repo) -> tuple[str, str]:
    return repo.git("rev-parse", "HEAD"), repo.ckpt_ok("list", "--json").out


# -- the commit -------------------------------------------------------------------------------
def test_first_save_is_one_commit_with_only_our_files(repo: Repo) -> None:
    repo.model()
    before = repo.git("rev-parse", "HEAD").strip()
    saved = repo.save()
    assert repo.git("rev-list", f"{before}..HEAD").split() == [saved["commit"]]
    assert _changed(repo) == {f"{MODEL}.dvc", f"{MODEL}.ckpt.yaml", "dvc.yaml",
                              "models/.gitignore", *VALUES}
    assert _trailers(repo) == {"Ckpt-Id": saved["id"], "Ckpt-Name": "clf"}
    dvc_yaml = yaml.safe_load((repo.path / "dvc.yaml").read_text())
    assert dvc_yaml["artifacts"]["clf"] == {"path": MODEL, "type": "model"}
    assert repo.git("status", "--porcelain") == ""

    repo.model(seed=1)
    again = repo.save()
    assert _changed(repo) == {f"{MODEL}.dvc", f"{MODEL}.ckpt.yaml"}
    assert _trailers(repo) == {"Ckpt-Id": again["id"], "Ckpt-Name": "clf"}
    assert repo.git("status", "--porcelain") == ""


def test_json_output_keys(repo: Repo) -> None:
    path = repo.model()
    out = repo.save()
    assert {"id", "name", "commit", "created_at", "artifact"} <= set(out)
    assert set(out["artifact"]) >= {"path", "md5", "sha256", "size"}
    assert out["artifact"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert out["artifact"]["size"] == path.stat().st_size
    assert out["commit"] == repo.git("rev-parse", "HEAD").strip()


def test_users_staged_and_unstaged_work_is_untouched(repo: Repo) -> None:
    p = repo.path
    (p / "train.py").write_text("print('staged')\n")
    repo.git("add", "train.py")
    (p / "train.py").write_text("print('staged')\nprint('and then unstaged')\n")
    (p / "new_module.py").write_text("x = 1\n")
    repo.git("add", "new_module.py")
    (p / "README.md").write_text("# unstaged edit\n")
    (p / "notes.txt").write_text("untracked\n")
    # a staged edit of a file the save also edits: theirs must survive in index and tree
    (p / "dvc.yaml").write_text("stages:\n  train:\n    cmd: python train.py\n")
    repo.git("add", "dvc.yaml")
    cached, unstaged = repo.git("diff", "--cached"), repo.git("diff")
    user_blobs = {ln.split("\t")[1]: ln for ln in repo.git("ls-files", "-s").splitlines()
                  if ln.split("\t")[1] in ("train.py", "new_module.py", "README.md")}

    repo.model()
    repo.save()

    assert _changed(repo) == {f"{MODEL}.dvc", f"{MODEL}.ckpt.yaml", "dvc.yaml",
                              "models/.gitignore", *VALUES}
    committed = yaml.safe_load(repo.git("show", "HEAD:dvc.yaml"))
    assert committed == {"artifacts": {"clf": {"path": MODEL, "type": "model"}},
                         "metrics": [VALUES[0]], "params": [VALUES[1]]}
    assert repo.git("diff", "--cached", "--", ".", ":!dvc.yaml", ":!.ckpt") == \
        _drop_file(cached, "dvc.yaml")
    assert repo.git("diff") == unstaged
    staged_yaml = yaml.safe_load(repo.git("show", ":dvc.yaml"))
    assert staged_yaml["stages"] == {"train": {"cmd": "python train.py"}}
    assert staged_yaml["artifacts"]["clf"]["path"] == MODEL
    after = {ln.split("\t")[1]: ln for ln in repo.git("ls-files", "-s").splitlines()
             if ln.split("\t")[1] in user_blobs}
    assert after == user_blobs
    assert (p / "train.py").read_text().endswith("and then unstaged')\n")
    assert (p / "notes.txt").exists()
    status = set(repo.git("status", "--porcelain").splitlines())
    assert status == {"MM train.py", "A  new_module.py", " M README.md", "?? notes.txt",
                      "M  dvc.yaml"}


def _drop_file(diff: str, name: str) -> str:
    chunks = diff.split("diff --git ")
    kept = [c for c in chunks[1:] if not c.startswith(f"a/{name} ")]
    return "".join("diff --git " + c for c in kept)


# -- the sidecar ------------------------------------------------------------------------------
def test_sidecar_records_everything(repo: Repo) -> None:
    path = repo.model()
    (repo.path / "metrics.json").write_text(json.dumps({"acc": 0.9, "loss": {"val": 0.3}}))
    (repo.path / "hp.yaml").write_text("lr: 0.001\noptim:\n  name: adam\n")
    (repo.path / "README.md").write_text("# dirty tree\n")
    saved = repo.save(MODEL, "clf", "--metrics", "metrics.json", "--metric", "f1=0.8",
                      "--params", "hp.yaml", "--param", "optim.beta=0.9", "--seed", "torch=42",
                      "--step", "3", "--epoch", "1.5", "--note", "first try", "--label", "base")
    doc = _sidecar(repo)
    sidecar.validate(doc)
    assert doc["id"] == saved["id"] and doc["name"] == "clf"
    assert doc["created_at"].endswith("Z")
    art = doc["artifact"]
    assert art["md5"] == _pointer(repo)["md5"] == _md5(path)
    assert art["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert art["size"] == _pointer(repo)["size"] == path.stat().st_size
    assert art["path"] == MODEL and art["format"] == "safetensors"

    code = doc["code"]
    assert code["commit"] == repo.git("rev-parse", "HEAD~1").strip()
    assert code["branch"] == "main"
    assert code["dirty"] is True
    diff = subprocess.run(["git", "diff", "HEAD~1", "--binary", "--no-ext-diff", "--", ".",
                           f":(exclude){MODEL}", f":(exclude){MODEL}.dvc",
                           f":(exclude){MODEL}.ckpt.yaml", ":(exclude)dvc.yaml",
                           ":(exclude)models/.gitignore", ":(exclude).ckpt/metrics",
                           ":(exclude).ckpt/params"],
                          cwd=repo.path, capture_output=True, check=True).stdout
    assert code["diff_sha256"] == hashlib.sha256(diff).hexdigest()

    env = doc["environment"]
    assert env["python"].count(".") == 2 and env["platform"]
    assert env["packages"]["safetensors"]
    assert isinstance(env["accelerators"], list)

    assert doc["seeds"] == {"torch": 42}
    assert doc["params"] == {"lr": 0.001, "optim": {"name": "adam", "beta": 0.9}}
    assert doc["metrics"] == {"acc": 0.9, "loss": {"val": 0.3}, "f1": 0.8}
    assert doc["step"] == 3 and doc["epoch"] == 1.5
    assert doc["notes"] == "first try" and doc["labels"] == ["base"]
    assert doc["parent"] is None

    ts = doc["tensors"]
    assert ts["count"] == 3
    assert ts["parameters"] == 16 * 8 + 16 + 4 * 16
    assert ts["dtypes"] == {"F32": 208}
    assert ts["metadata"] == {"format": "pt"}
    assert {t["name"]: t["shape"] for t in ts["tensors"]} == {
        "encoder.weight": [16, 8], "encoder.bias": [16], "head.weight": [4, 16]}


def test_clean_tree_is_not_dirty_and_allowlisted_env_is_recorded(
        repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONHASHSEED", "7")
    monkeypatch.setenv("SECRET_TOKEN", "nope")
    repo.model()
    repo.save()
    doc = _sidecar(repo)
    assert doc["code"]["dirty"] is False and "diff_sha256" not in doc["code"]
    assert doc["environment"]["env"]["PYTHONHASHSEED"] == "7"
    assert "nope" not in repo.git("show", f"HEAD:{MODEL}.ckpt.yaml")


def test_tensor_summary_of_mixed_dtypes(repo: Repo) -> None:
    repo.model(tensors={"w": np.zeros((3, 5), dtype=np.float16),
                        "ids": np.arange(7, dtype=np.int64),
                        "scale": np.array(2.0, dtype=np.float32)})
    repo.save()
    ts = _sidecar(repo)["tensors"]
    assert ts["parameters"] == 15 + 7 + 1
    assert ts["dtypes"] == {"F16": 15, "F32": 1, "I64": 7}
    assert {t["name"]: (t["dtype"], t["shape"]) for t in ts["tensors"]} == {
        "w": ("F16", [3, 5]), "ids": ("I64", [7]), "scale": ("F32", [])}


def test_bf16_header_is_summarized_without_reading_weights(repo: Repo) -> None:
    header = json.dumps({"w": {"dtype": "BF16", "shape": [2, 3], "data_offsets": [0, 12]},
                         "__metadata__": {"format": "pt"}}).encode()
    header += b" " * (-len(header) % 8)
    path = repo.path / MODEL
    path.parent.mkdir(parents=True)
    path.write_bytes(struct.pack("<Q", len(header)) + header + bytes(12))
    repo.save()
    ts = _sidecar(repo)["tensors"]
    assert ts["dtypes"] == {"BF16": 6} and ts["parameters"] == 6


def test_dvclive_outputs_of_this_run_are_read_by_default(repo: Repo) -> None:
    live = repo.path / "dvclive"
    live.mkdir()
    (live / "metrics.json").write_text('{"step": 4, "acc": 0.75}')
    (live / "params.yaml").write_text("lr: 0.01\n")
    (repo.path / "params.yaml").write_text("lr: 9\nepochs: 5\n")  # another run's: never implied
    repo.model()
    out = repo.save()
    doc = _sidecar(repo)
    assert doc["metrics"] == {"acc": 0.75} and doc["step"] == 4  # dvclive's step is the step
    assert doc["params"] == {"lr": 0.01}
    assert out["sources"]["metrics"] == ["dvclive/metrics.json"]
    assert out["sources"]["params"] == ["dvclive/params.yaml"]
    # the same files again, not rewritten since that save: stale, skipped and said so
    repo.model(seed=3)
    res = repo.ckpt_ok("save", MODEL, "--name", "clf")
    assert "skipped dvclive/metrics.json" in res.err
    doc = _sidecar(repo)
    assert doc["metrics"] == {} and doc["params"] == {} and doc["step"] is None
    # written after the last save: this run's again; the root params.yaml only when asked
    (live / "metrics.json").write_text('{"step": 5, "acc": 0.8}')
    repo.model(seed=4)
    res = repo.ckpt_ok("save", MODEL, "--name", "clf", "--params", "params.yaml")
    assert "metrics from dvclive/metrics.json; params from params.yaml" in res.err
    doc = _sidecar(repo)
    assert doc["metrics"] == {"acc": 0.8} and doc["step"] == 5
    assert doc["params"] == {"lr": 9, "epochs": 5}


def test_dvclive_folder_named_in_config_is_always_this_runs(repo: Repo) -> None:
    (repo.path / "logs").mkdir()
    (repo.path / "logs" / "metrics.json").write_text('{"step": 1, "acc": 0.5}')
    config = repo.path / ".ckpt" / "config.yaml"
    config.write_text(config.read_text() + "save:\n  dvclive: logs\n")
    repo.git("commit", "-qam", "read logs/")
    repo.model()
    repo.save()
    repo.model(seed=1)
    out = repo.save()
    assert out["sources"]["metrics"] == ["logs/metrics.json"]
    assert _sidecar(repo)["metrics"] == {"acc": 0.5}


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # from inside dvc.add
def test_data_inputs_record_dvc_hashes(repo: Repo) -> None:
    from dvc.repo import Repo as DvcRepo

    data = repo.path / "data" / "train.csv"
    data.parent.mkdir()
    data.write_text("x,y\n1,2\n")
    with DvcRepo(str(repo.path)) as dvc:
        dvc.add(str(data))
    repo.model()
    repo.save(MODEL, "clf", "--data", "data/train.csv")
    doc = _sidecar(repo)
    assert doc["data"] == [{"path": "data/train.csv",
                            "md5": _md5(data),
                            "size": data.stat().st_size, "nfiles": None}]
    sidecar.validate(doc)

    res = repo.ckpt("save", MODEL, "--name", "clf", "--data", "README.md")
    assert res.code == 2 and "not tracked by DVC" in res.err


def test_nan_and_inf_metrics_are_strings_with_a_warning(repo: Repo) -> None:
    (repo.path / "m.json").write_text('{"loss": NaN, "grad": Infinity, "ok": 1.0}')
    repo.model()
    res = repo.ckpt_ok("save", MODEL, "--name", "clf", "--metrics", "m.json",
                       "--metric", "lr_min=-inf", "--json")
    doc = _sidecar(repo)
    assert doc["metrics"] == {"loss": "nan", "grad": "inf", "ok": 1.0, "lr_min": "-inf"}
    warnings = [ln for ln in res.err.splitlines() if ln.startswith("warning:")]
    assert len(warnings) == 3, res.err
    listed = repo.ckpt_ok("list", "--json").json()
    assert listed[0]["metrics"]["loss"] == "nan"


# -- artifacts and paths ----------------------------------------------------------------------
def test_directory_artifact(repo: Repo) -> None:
    out = repo.path / "out" / "tok"
    (out / "sub").mkdir(parents=True)
    (out / "vocab.txt").write_text("a\nb\n")
    (out / "sub" / "merges.txt").write_text("a b\n")
    saved = repo.save("out/tok", "tok")
    doc = _sidecar(repo, "out/tok")
    ptr = _pointer(repo, "out/tok")
    assert doc["artifact"]["md5"] == ptr["md5"] and ptr["md5"].endswith(".dir")
    assert doc["artifact"]["nfiles"] == ptr["nfiles"] == 2
    assert doc["artifact"]["kind"] == "directory" and doc["artifact"]["size"] == 8
    assert "tensors" not in doc
    assert _changed(repo) == {"out/tok.dvc", "out/tok.ckpt.yaml", "dvc.yaml", "out/.gitignore",
                              ".ckpt/metrics/tok.json", ".ckpt/params/tok.yaml"}
    assert saved["artifact"]["sha256"] == doc["artifact"]["sha256"]
    _assert_dvc_agrees(repo.path)


def _assert_dvc_agrees(root: Path) -> None:
    """DVC itself hashes the workspace and finds it matches the .dvc files we wrote."""
    from dvc.repo import Repo as DvcRepo

    with DvcRepo(str(root)) as dvc:
        assert dvc.status() == {}
        assert dvc.status(cloud=False) == {}


def test_dvc_agrees_with_a_saved_file(repo: Repo) -> None:
    repo.model()
    repo.save()
    _assert_dvc_agrees(repo.path)


def test_a_path_holds_one_name_but_a_name_may_move(repo: Repo) -> None:
    repo.model()
    first = repo.save()
    repo.model("models/other.safetensors", seed=2)
    before = _state(repo)
    res = repo.ckpt("save", MODEL, "--name", "other")
    assert res.code == 2 and "already holds checkpoint 'clf'" in res.err
    assert _state(repo) == before
    # one file per epoch under one name: each save records its own path, parent chained
    moved = repo.save("models/other.safetensors", "clf")
    assert _sidecar(repo, "models/other.safetensors")["parent"] == first["id"]
    assert moved["artifact"]["path"] == "models/other.safetensors"
    assert _sidecar(repo)["id"] == first["id"]  # the first path's record is still there


def test_save_from_a_subdirectory(repo: Repo) -> None:
    repo.model()
    res = repo.ckpt_ok("save", "clf.safetensors", "--name", "clf", "--json",
                       cwd=repo.path / "models")
    assert res.json()["artifact"]["path"] == MODEL


# -- safetensors that are not what they claim -------------------------------------------------
def _bad_headers(path: Path) -> dict[str, bytes]:
    good = path.read_bytes()
    (n,) = struct.unpack("<Q", good[:8])
    return {
        "corrupt": good[:8] + b"{not json" + good[17:],
        "oversized": struct.pack("<Q", 200_000_000) + good[8:],
        "truncated": good[: 8 + n // 2],
        "tiny": b"\x01\x02",
        "data_truncated": good[:-10],
        "not_utf8": good[:8] + b"{\xff\xfe" + good[11:],
        "shape_lies": _with_header({"w": {"dtype": "F32", "shape": [1 << 40, 1 << 40],
                                          "data_offsets": [0, 16]}}, bytes(16)),
    }


def _with_header(header: dict[str, Any], body: bytes) -> bytes:
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw + body


@pytest.mark.parametrize("kind", ["corrupt", "oversized", "truncated", "tiny", "data_truncated",
                                  "not_utf8", "shape_lies"])
def test_bad_safetensors_header_saved_opaque_with_warning(repo: Repo, kind: str) -> None:
    path = repo.model()
    path.write_bytes(_bad_headers(path)[kind])
    res = repo.ckpt_ok("save", MODEL, "--name", "clf", "--json")
    assert "warning:" in res.err and "opaque" in res.err
    assert "Traceback" not in res.err
    doc = _sidecar(repo)
    assert "tensors" not in doc
    assert doc["artifact"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("kind", ["corrupt", "oversized", "truncated"])
def test_bad_safetensors_header_refused_with_strict(repo: Repo, kind: str) -> None:
    path = repo.model()
    path.write_bytes(_bad_headers(path)[kind])
    before = _state(repo)
    res = repo.ckpt("save", MODEL, "--name", "clf", "--strict")
    assert res.code == 2
    assert res.err.startswith("error:") and len(res.err.strip().splitlines()) == 1
    assert _state(repo) == before
    assert repo.git("status", "--porcelain") == "?? models/\n"
    cache = repo.path / ".dvc" / "cache"
    assert not cache.exists() or not [p for p in cache.rglob("*") if p.is_file()]


# -- storage safety ---------------------------------------------------------------------------
def test_overwriting_the_workspace_file_in_place_keeps_the_checkpoint(repo: Repo) -> None:
    path = repo.model()
    original = path.read_bytes()
    repo.save()
    # what safetensors' save_file does: open the same inode, rewrite, truncate
    with open(path, "r+b") as fh:
        fh.write(b"\xff" * 64)
        fh.truncate(100)
    assert path.read_bytes() != original
    res = repo.ckpt_ok("restore", "clf", "--force")
    assert "verified" in res.out
    assert path.read_bytes() == original


def test_cache_object_is_a_separate_read_only_copy(repo: Repo) -> None:
    from ckptgit import storage

    path = repo.model()
    saved = repo.save()
    obj = storage.object_path(repo.path, saved["artifact"]["md5"])
    assert obj.read_bytes() == path.read_bytes()
    assert os.stat(obj).st_ino != os.stat(path).st_ino
    assert os.stat(obj).st_nlink == 1
    assert not os.stat(obj).st_mode & 0o222


def test_two_concurrent_saves_both_land(repo: Repo) -> None:
    repo.model("models/a.safetensors", seed=1)
    repo.model("models/b.safetensors", seed=2)
    procs = [subprocess.Popen(["git", "ckpt", "save", f"models/{n}.safetensors", "--name", n,
                               "--json"], cwd=repo.path, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for n in "ab"]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1] for o in outs]
    commits = {json.loads(o[0])["commit"] for o in outs}
    assert len(commits) == 2
    history = set(repo.git("rev-list", "-2", "HEAD").split())
    assert history == commits
    listed = repo.ckpt_ok("list", "--json").json()
    assert sorted(c["name"] for c in listed) == ["a", "b"]
    artifacts = yaml.safe_load(repo.git("show", "HEAD:dvc.yaml"))["artifacts"]
    assert set(artifacts) == {"a", "b"}
    gitignore = repo.git("show", "HEAD:models/.gitignore").splitlines()
    assert sorted(gitignore) == ["/a.safetensors", "/b.safetensors"]
    assert repo.git("status", "--porcelain") == ""


def test_concurrent_saves_from_threads(repo: Repo) -> None:
    from concurrent.futures import ThreadPoolExecutor

    import ckptgit

    for i in range(4):
        repo.model(f"models/m{i}.safetensors", seed=i)
    os.chdir(repo.path)
    with ThreadPoolExecutor(4) as pool:
        done = list(pool.map(lambda i: ckptgit.save(f"models/m{i}.safetensors", f"m{i}"),
                             range(4)))
    assert len({c.commit for c in done}) == 4
    listed = repo.ckpt_ok("list", "--json").json()
    assert sorted(c["name"] for c in listed) == ["m0", "m1", "m2", "m3"]


def test_push_puts_objects_on_the_remote(repo: Repo) -> None:
    path = repo.model()
    saved = repo.save(MODEL, "clf", "--push")
    md5 = saved["artifact"]["md5"]
    remote_obj = repo.remote / "files" / "md5" / md5[:2] / md5[2:]
    assert remote_obj.read_bytes() == path.read_bytes()


def test_without_push_the_remote_stays_empty(repo: Repo) -> None:
    repo.model()
    repo.save()
    assert not any(p.is_file() for p in repo.remote.rglob("*"))


@pytest.mark.parametrize("rel", ["clf.safetensors", "models/my model [v1]*.safetensors",
                                 "models/modèle ünï.safetensors", "models/#x!.safetensors"])
def test_awkward_paths_save_list_restore(repo: Repo, rel: str) -> None:
    path = repo.model(rel)
    original = path.read_bytes()
    saved = repo.save(str(path), "clf")  # an absolute path inside the repository
    assert saved["artifact"]["path"] == rel
    assert repo.git("status", "--porcelain") == ""  # the artifact is ignored, nothing else
    assert repo.git("-c", "core.quotePath=false", "check-ignore", "--no-index", rel,
                    check=False).strip().strip('"') == rel
    assert [c["id"] for c in repo.ckpt_ok("list", "--json").json()] == [saved["id"]]
    path.unlink()
    repo.ckpt_ok("restore", "clf")
    assert path.read_bytes() == original
    _assert_dvc_agrees(repo.path)


def test_save_on_a_detached_head(repo: Repo) -> None:
    repo.git("checkout", "-q", "--detach")
    repo.model()
    saved = repo.save()
    assert repo.git("rev-parse", "HEAD").strip() == saved["commit"]
    assert repo.git("rev-parse", "main").strip() != saved["commit"]
    assert _sidecar(repo)["code"]["branch"] is None


def test_push_failure_keeps_the_local_save_and_says_so(repo: Repo, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the remote directory should be")
    repo.ckpt_ok("init", "--remote", str(blocker / "remote"))
    repo.model()
    head = repo.git("rev-parse", "HEAD").strip()
    done = repo.run_git_ckpt("save", MODEL, "--name", "clf", "--push")
    assert done.returncode == 1, done
    assert done.stderr.startswith("error: checkpoint "), done.stderr
    assert "saved locally, but dvc push failed" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert repo.git("rev-parse", "HEAD~1").strip() == head  # the save itself landed
    assert [c["name"] for c in repo.ckpt_ok("list", "--json").json()] == ["clf"]


def test_head_pinned_holds_one_commit_for_this_thread_only(repo: Repo) -> None:
    """What a save decides before its commit is decided against one HEAD; a commit landing
    meanwhile is seen after the pin, and by other threads at once."""
    import threading

    from ckptgit.git import Git

    git = Git.discover(repo.path)
    before = git.head()

    def commit(text: str) -> str:
        (repo.path / "notes.txt").write_text(text)
        repo.git("add", "notes.txt")
        repo.git("commit", "-q", "-m", text)
        return repo.git("rev-parse", "HEAD").strip()

    with git.head_pinned() as pinned:
        assert pinned == before
        moved = commit("one")
        assert git.head() == before
        seen: list[str | None] = []
        other = threading.Thread(target=lambda: seen.append(git.head()))
        other.start()
        other.join()
        assert seen == [moved]
        with git.head_pinned() as inner:  # a nested pin reads HEAD again
            assert inner == moved and git.head() == moved
        assert git.head() == before
    assert git.head() == moved
