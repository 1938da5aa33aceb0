"""Paths from recorded data stay inside their destination: restore, reproduce, rehearsal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bad_inputs.catalogue import Case, judge
from bad_inputs.conftest import one_checkpoint, prepared
from bad_inputs.test_readers import _clf_doc, _commit
from ckptgit import paths
from ckptgit.errors import IntegrityError

template = prepared(one_checkpoint)


def _with_data(path: str, md5: str = "0" * 32) -> Any:
    """A save by hand whose recorded data input names ``path``."""
    def setup(work: Any) -> None:
        doc = _clf_doc(work)
        doc.update(id="00000000deadbeef", name="evil")
        doc["artifact"]["path"] = "models/evil.bin"
        doc["data"] = [{"path": path, "md5": md5, "size": 1, "nfiles": None}]
        pointer = {"outs": [{"md5": doc["artifact"]["md5"], "size": 3, "hash": "md5",
                             "path": "evil.bin"}]}
        _commit(work, {"models/evil.bin.ckpt.yaml": yaml.safe_dump(doc),
                       "models/evil.bin.dvc": yaml.safe_dump(pointer)},
                "ckpt: save evil\n\nCkpt-Id: 00000000deadbeef\nCkpt-Name: evil\n")
    return setup


CASES = [
    Case("reproduce-data-dotdot", ("reproduce", "evil", "--dir", "../rerun"), 3,
         "not a plain relative path", _with_data("../../outside")),
    Case("reproduce-data-absolute", ("reproduce", "evil", "--dir", "../rerun"), 3,
         "not a plain relative path", _with_data("/etc/cron.d/x")),
    Case("reproduce-data-into-git", ("reproduce", "evil", "--dir", "../rerun"), 3,
         "inside .git/", _with_data(".git/hooks/post-checkout")),
    Case("reproduce-data-bad-md5", ("reproduce", "evil", "--dir", "../rerun"), 3,
         "not an md5", _with_data("data/train.csv", md5="../../x")),
]


@pytest.mark.parametrize("case", [c.param() for c in CASES])
def test_reproduce_confines_recorded_paths(work: Any, case: Case) -> None:
    judge(work, case)
    assert not (work.repo.path.parent / "rerun").exists()  # refused before it was made
    assert work.repo.git("worktree", "list").count("\n") == 1


@pytest.mark.parametrize("rel", ["../x", "/abs", "a/../../x", "a//b", "./a", "a\\..\\b", "",
                                 "a\nb", ".git/config", ".dvc/config", ".ckpt/allowed_signers"])
def test_recorded_paths_are_plain_and_outside_managed_folders(tmp_path: Path, rel: str) -> None:
    with pytest.raises(IntegrityError):
        paths.confined(tmp_path, rel)


def test_a_symlink_at_the_destination_does_not_lead_the_write_out(tmp_path: Path) -> None:
    dest, outside = tmp_path / "dest", tmp_path / "outside"
    dest.mkdir()
    outside.mkdir()
    (dest / "sub").symlink_to(outside, target_is_directory=True)
    (dest / "file").symlink_to(outside / "f")
    for rel in ("sub/x", "file"):
        with pytest.raises(IntegrityError, match="symlink"):
            paths.confined(dest, rel)
    assert paths.confined(dest, "ok/x") == dest / "ok" / "x"


def test_companion_paths_from_a_sidecar_are_checked_before_rehearsal(work: Any) -> None:
    from ckptgit.governance import artifacts
    from ckptgit.model import Sidecar
    from ckptgit.repo import Repo

    repo = Repo.open(work.repo.path)
    ckpt = repo.resolve("clf")
    doc = _clf_doc(work)
    for hostile in ("../../../home/x", ".git/hooks/pre-commit", "/tmp/x"):
        doc["companions"] = [{"path": hostile, "sha256": "0" * 64, "md5": "0" * 32, "size": 1}]
        with pytest.raises(IntegrityError):
            artifacts.pieces(ckpt, Sidecar.from_doc(doc))
