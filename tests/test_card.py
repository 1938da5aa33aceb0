"""``git ckpt card``: a Hugging Face model card that huggingface_hub's own parser accepts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import Repo, make_repo
from governance_fixtures import Keys, govern

CARD_CONFIG = """
card:
  license: apache-2.0
  tags: [text-classification, internal]
  language: [en]
  task: text-classification
"""


@pytest.fixture
def gov(tmp_path: Path, keys: Keys) -> Repo:
    repo = make_repo(tmp_path)
    govern(repo, keys)
    with (repo.path / ".ckpt" / "config.yaml").open("a") as f:
        f.write(CARD_CONFIG)
    repo.git("commit", "-qam", "card settings")
    return repo


def test_card_is_read_back_by_huggingface_hub(gov: Repo, tmp_path: Path) -> None:
    from huggingface_hub import ModelCard

    gov.model(seed=1)
    first = gov.save("models/clf.safetensors", "clf", "--metric", "accuracy=0.8",
                     "--metric", "val_loss=0.9", "--seed", "torch=7")
    gov.model(seed=2)
    (gov.path / "data").mkdir()
    (gov.path / "data" / "train.csv.dvc").write_text(
        f"outs:\n- md5: {'a' * 32}\n  size: 10\n  hash: md5\n  path: train.csv\n")
    second = gov.save("models/clf.safetensors", "clf", "--data", "data/train.csv",
                      "--metric", "accuracy=0.9",
                      "--metric", "val_loss=0.5", "--param", "lr=0.001", "--seed", "torch=7",
                      "--note", "longer warmup fixed the loss spikes")
    gov.ckpt_ok("promote", "clf", "--stage", "dev", "--rationale", "beats the first",
                "--approved-by", "bob@example.com")
    out = tmp_path / "README.md"
    res = gov.ckpt_ok("card", "clf", "-o", str(out), "--json").json()
    text = out.read_text()
    assert res["card"] == text and res["id"] == second["id"]
    card = ModelCard(text)
    assert card.data.license == "apache-2.0" and card.data.language == ["en"]
    assert "ckptgit" in card.data.tags and "internal" in card.data.tags
    results = {r.metric_type: r.metric_value for r in card.data.eval_results}
    assert results == {"accuracy": 0.9, "val_loss": 0.5}
    assert {r.task_type for r in card.data.eval_results} == {"text-classification"}
    assert card.data.datasets == [f"data/train.csv@md5:{'a' * 32}"]  # datasets by hash
    assert {r.dataset_name for r in card.data.eval_results} == set(card.data.datasets)
    body = card.text
    assert "longer warmup fixed the loss spikes" in body
    assert f"Parent: `{first['id'][:8]}`" in body and "| accuracy | 0.8 | 0.9 | better |" in body
    assert "signed by alice@example.com, approved by bob@example.com" in body
    assert "Rationale: beats the first" in body
    assert "`torch` = 7" in body and f"sha256 (the seal): `{second['artifact']['sha256']}`" in body


def test_card_without_metrics_or_parent_still_parses(repo: Repo) -> None:
    from huggingface_hub import ModelCard

    repo.model()
    repo.save()
    text = repo.ckpt_ok("card", "clf").out
    card = ModelCard(text)
    assert card.data.eval_results is None and card.data.tags == ["ckptgit"]
    assert "starts a lineage" in card.text and "Never promoted." in card.text


def test_card_shows_a_rejected_promotion_as_unverified(gov: Repo, keys: Keys) -> None:
    from governance_fixtures import promote_message, raw_tag, use_key

    gov.model()
    saved = gov.save("models/clf.safetensors", "clf", "--metric", "accuracy=0.8")
    use_key(gov.path, keys, "mallory")
    assert raw_tag(gov.path, "clf#dev#1", saved["commit"],
                   promote_message(saved["id"], "dev", "trust me")).returncode == 0
    body = gov.ckpt_ok("card", "clf").out
    assert "**UNVERIFIED** (signed by a key not allowed here" in body
    assert "signed by Ada" not in body and "signed by mallory" not in body


def test_card_of_unknown_ref_is_json_error(repo: Repo) -> None:
    res = repo.ckpt("card", "nosuch", "--json")
    assert res.code == 2 and res.err == ""
    assert json.loads(res.out) == {"error": json.loads(res.out)["error"], "exit": 2}
    assert "unknown checkpoint reference" in json.loads(res.out)["error"]
