"""``git ckpt check``: each rule fires on the case it is for, and only then."""

from __future__ import annotations

from typing import Any

import yaml
from conftest import Repo
from governance_fixtures import Keys, promote_message, raw_tag, use_key


def findings(repo: Repo, *args: str, code: int | None = None) -> list[dict[str, Any]]:
    res = repo.ckpt("check", *args, "--json")
    if code is not None:
        assert res.code == code, res.err
    out: list[dict[str, Any]] = res.json()
    return out


def rules(found: list[dict[str, Any]]) -> set[str]:
    return {f["rule"] for f in found}


def configure(repo: Repo, **check: Any) -> None:
    """Merge into the ``check:`` section and commit (an edited tracked file makes saves dirty)."""
    cfg = repo.path / ".ckpt" / "config.yaml"
    data = yaml.safe_load(cfg.read_text())
    for key, value in check.items():
        section = data.setdefault("check", {})
        if isinstance(value, dict):
            section.setdefault(key, {}).update(value)
        else:
            section[key] = value
    cfg.write_text(yaml.safe_dump(data))
    repo.git("commit", "-q", "-am", "check settings")


def quiet_data(repo: Repo) -> None:
    configure(repo, rules={"data-hash-missing": "off"})


def test_regression_versus_parent_is_an_error(repo: Repo) -> None:
    quiet_data(repo)
    repo.model()
    repo.save("models/clf.safetensors", "clf", "--metric", "acc=0.9", "--seed", "torch=1")
    repo.save("models/clf.safetensors", "clf", "--metric", "acc=0.8", "--seed", "torch=1")
    found = findings(repo, code=1)
    assert [(f["rule"], f["severity"]) for f in found] == [("regression-parent", "error")]
    assert "acc" in found[0]["message"] and "0.9 -> 0.8" in found[0]["message"]
    text = repo.ckpt("check")
    assert text.code == 1 and "regression-parent" in text.out


def test_small_changes_and_improvements_pass(repo: Repo) -> None:
    quiet_data(repo)
    repo.model()
    repo.save("models/clf.safetensors", "clf", "--metric", "acc=0.9", "--metric", "loss=0.5",
              "--seed", "torch=1")
    repo.save("models/clf.safetensors", "clf", "--metric", "acc=0.899", "--metric", "loss=0.3",
              "--seed", "torch=1")
    assert findings(repo, code=0) == []
    assert repo.ckpt_ok("check").out.strip() == "no findings"


def test_seed_change_mid_run_is_flagged_new_run_is_not(repo: Repo) -> None:
    quiet_data(repo)
    repo.model()
    repo.save("models/clf.safetensors", "clf", "--seed", "torch=1", "--step", "100")
    repo.save("models/clf.safetensors", "clf", "--seed", "torch=2", "--step", "200")
    found = findings(repo, "clf", code=1)
    assert rules(found) == {"seed-changed"}
    assert "torch 1 -> 2" in found[0]["message"]
    repo.save("models/clf.safetensors", "clf", "--seed", "torch=3", "--step", "0")  # new run
    assert findings(repo, "clf", code=0) == []


def test_own_rules_and_config_severities(repo: Repo) -> None:
    repo.model()
    repo.save("models/clf.safetensors", "clf", "--metric", "loss=nan")
    found = findings(repo, code=1)
    by_rule = {f["rule"]: f["severity"] for f in found}
    assert by_rule == {"non-finite-metric": "error", "seed-missing": "warning",
                       "data-hash-missing": "warning"}
    configure(repo, rules={"non-finite-metric": "warning", "seed-missing": False})
    assert rules(findings(repo, code=0)) == {"non-finite-metric", "data-hash-missing"}


def test_dirty_tree_at_save_is_flagged(repo: Repo) -> None:
    quiet_data(repo)
    (repo.path / "train.py").write_text("print('uncommitted')\n")
    repo.model()
    repo.save("models/clf.safetensors", "clf", "--seed", "torch=1")
    assert rules(findings(repo, code=0)) == {"dirty-code"}  # a warning by default


def test_regression_versus_stage_holder_and_baseline(repo: Repo, keys: Keys) -> None:
    quiet_data(repo)
    signers = repo.path / ".ckpt" / "allowed_signers"
    signers.write_text(signers.read_text() + keys.line("alice"))
    repo.git("commit", "-q", "-m", "trust alice", ".ckpt/allowed_signers")
    use_key(repo.path, keys, "alice")
    repo.model()
    prod = repo.save("models/clf.safetensors", "clf", "--metric", "acc=0.95", "--seed", "t=1")
    # the stage holder counts only as a verified tag (a lightweight one would be ignored)
    made = raw_tag(repo.path, "clf#production#1", prod["commit"],
                   promote_message(prod["id"], "production", approvers=("bob@example.com",)))
    assert made.returncode == 0, made.stderr
    repo.save("models/clf.safetensors", "clf", "--metric", "acc=0.80", "--seed", "t=1",
              "--parent", prod["id"])
    repo.save("models/clf.safetensors", "clf", "--metric", "acc=0.81", "--seed", "t=1")
    found = findings(repo, "clf", code=1)  # better than its parent, worse than production
    assert rules(found) == {"regression-stage"}
    assert "production" in found[0]["message"]
    found = findings(repo, "clf", "--baseline", "clf~1", code=1)
    assert rules(found) == {"regression-stage"}  # fine versus the baseline (0.80 -> 0.81)
    configure(repo, thresholds={"acc": 0.2})
    assert findings(repo, "clf", code=0) == []
