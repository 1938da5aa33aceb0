"""``report/sidecars.py``: the cards' whole sidecars, parsed once per blob and kept under
.git/ckpt/; a damaged or foreign cache file is never trusted for its shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import Repo


def _load(repo: Repo) -> dict[str, dict[str, object]]:
    from ckptgit.repo import Repo as CkptRepo
    from ckptgit.report import sidecars

    opened = CkptRepo.open(repo.path)
    return sidecars.load(opened.git, opened.checkpoints())


def test_whole_sidecars_warm_and_cold_alike(repo: Repo) -> None:
    repo.model()
    saved = repo.save("models/clf.safetensors", "clf", "--note", "why: a better lr",
                      "--param", "lr=0.1")
    cold = _load(repo)
    doc = cold[saved["id"]]
    assert doc["notes"] == "why: a better lr" and doc["params"] == {"lr": 0.1}
    assert "environment" in doc and "tensors" not in doc  # verify's cache keeps neither
    kept = repo.path / ".git" / "ckpt" / "card-sidecars-v1.json"
    assert kept.is_file()
    assert _load(repo) == cold


def test_a_damaged_or_foreign_cache_file_means_parsing_again(repo: Repo) -> None:
    repo.model()
    saved = repo.save()
    want = _load(repo)
    kept = repo.path / ".git" / "ckpt" / "card-sidecars-v1.json"
    stamp = json.loads(kept.read_text())["stamp"]
    for text in ("{not json", "[]", json.dumps({"stamp": "other", "entries": {}}),
                 json.dumps({"stamp": stamp, "entries": []}),
                 json.dumps({"stamp": stamp, "entries": {"x": 1}})):
        kept.write_text(text)
        assert _load(repo) == want, text
    kept.unlink()
    kept.mkdir()  # cannot be written: the report still gets every sidecar
    assert _load(repo)[saved["id"]] == want[saved["id"]]


def test_a_first_report_parses_each_sidecar_once(repo: Repo, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The cards' parse feeds verify's cache: the record pass after it parses nothing."""
    from ckptgit import sidecar

    for seed in range(2):
        repo.model(seed=seed)
        repo.save()
    for name in ("verified-records-v1.json", "card-sidecars-v1.json"):
        (repo.path / ".git" / "ckpt" / name).unlink(missing_ok=True)
    seen: list[int] = []
    real = sidecar.check

    def counted(text: bytes) -> sidecar.Checked:
        seen.append(len(text))
        return real(text)

    monkeypatch.setattr(sidecar, "check", counted)
    repo.ckpt_ok("report", "-o", str(tmp_path / "site"))
    assert len(seen) == 2, seen
