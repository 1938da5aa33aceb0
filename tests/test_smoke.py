from __future__ import annotations

from conftest import Repo


def test_save_then_list_shows_it(repo: Repo) -> None:
    repo.model()
    saved = repo.save("models/clf.safetensors", "clf", "--metric", "acc=0.5")
    listed = repo.ckpt_ok("list", "--json").json()
    assert [c["id"] for c in listed] == [saved["id"]]
    assert listed[0]["metrics"] == {"acc": 0.5}
