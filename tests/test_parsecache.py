"""verify keeps parse results by blob id: a warm run parses nothing and finds the same."""

from __future__ import annotations

from conftest import Repo

from ckptgit.integrity import parsecache

MODEL = "models/clf.safetensors"


def cache_file(repo: Repo) -> object:
    return repo.path / ".git" / "ckpt" / parsecache.FILE


def test_warm_verify_reports_what_cold_verify_reported(repo: Repo) -> None:
    repo.model()
    repo.save(MODEL, "clf")
    side = repo.path / f"{MODEL}.ckpt.yaml"
    side.write_text(side.read_text().replace("  format: safetensors\n",
                                             "  format: safetensors\n  bogus: 1\n"))
    repo.git("commit", "-qa", "--amend", "--no-edit", "--no-verify")  # off-schema save
    cold = repo.ckpt("verify", "--all", "--offline", "--json")
    assert cache_file(repo).exists()  # type: ignore[attr-defined]
    warm = repo.ckpt("verify", "--all", "--offline", "--json")
    assert cold.code == warm.code == 3
    assert cold.json()["checkpoints"] == warm.json()["checkpoints"]
    assert any(f["kind"] == "schema" for f in warm.json()["checkpoints"][0]["findings"])


def test_a_work_tree_edit_is_found_on_a_warm_run(repo: Repo) -> None:
    repo.model()
    repo.save(MODEL, "clf")
    repo.ckpt_ok("verify", "--all", "--offline")  # fills the cache
    side = repo.path / f"{MODEL}.ckpt.yaml"
    side.write_text(side.read_text().replace("format: safetensors", "format: pickle"))
    res = repo.ckpt("verify", "--all", "--offline")
    assert res.code == 3, res
    assert "edited after the save" in res.out


def test_a_stale_stamp_discards_the_cache(repo: Repo) -> None:
    repo.model()
    repo.save(MODEL, "clf")
    repo.ckpt_ok("verify", "--all", "--offline")
    path = cache_file(repo)
    path.write_text('{"stamp": "old", "entries": {"x": [null, "bad", []]}}')  # type: ignore
    repo.ckpt_ok("verify", "--all", "--offline")
    assert '"old"' not in path.read_text()  # type: ignore[attr-defined]
