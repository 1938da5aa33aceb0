"""``git ckpt diff`` and ``ckptgit.diff`` on real saves where the test knows the answer."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import Repo

FIXTURES = Path(__file__).parent / "fixtures"


def layers(seed: int = 0, extra: bool = False, head_rows: int = 4) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    t = {"encoder.weight": rng.standard_normal((16, 8)).astype(np.float32),
         "encoder.bias": rng.standard_normal(16).astype(np.float32),
         "head.weight": rng.standard_normal((head_rows, 16)).astype(np.float32)}
    if extra:
        t["adapter.weight"] = rng.standard_normal((8, 8)).astype(np.float32)
    return t


def save_extra(repo: Repo, name: str = "clf", rel: str = "models/clf.safetensors",
               **fields: Any) -> None:
    """A save with sidecar fields the CLI has no flags for (distributions, slices)."""
    from ckptgit.ops.save import SaveRequest, save
    from ckptgit.repo import Repo as CkptRepo

    known = {k: fields.pop(k) for k in ("metrics", "params", "seeds", "step") if k in fields}
    save(CkptRepo.open(repo.path), SaveRequest(path=rel, name=name, cwd=repo.path,
                                               extra=fields, **known))


def sections(repo: Repo, *args: str) -> dict[str, Any]:
    res = repo.ckpt_ok("diff", *args, "--format", "json")
    return res.json()["sections"]


def test_changed_learning_rate_is_the_only_param_change(repo: Repo) -> None:
    repo.model(tensors=layers())
    repo.save("models/clf.safetensors", "clf", "--param", "lr=0.1", "--param", "epochs=3")
    repo.save("models/clf.safetensors", "clf", "--param", "lr=0.01", "--param", "epochs=3")
    got = sections(repo, "clf~1", "clf")
    assert got["params"] == [{"path": "lr", "change": "changed", "old": 0.1, "new": 0.01}]
    assert got["seeds"] == [] and got["tensors"]["added"] == []
    text = repo.ckpt_ok("diff", "clf").out  # B defaults to the latest; A=latest means its parent
    assert "lr" in text and "0.01" in text and "epochs" not in text


def test_added_layer_and_shape_change_from_headers(repo: Repo) -> None:
    repo.model(tensors=layers())
    repo.save("models/clf.safetensors", "clf")
    repo.model(tensors=layers(extra=True, head_rows=6))
    repo.save("models/clf.safetensors", "clf")
    t = sections(repo, "clf~1", "clf", "--only", "tensors")["tensors"]
    assert [a["name"] for a in t["added"]] == ["adapter.weight"]
    assert t["changed"] == [{"name": "head.weight",
                             "old": {"name": "head.weight", "dtype": "F32", "shape": [4, 16]},
                             "new": {"name": "head.weight", "dtype": "F32", "shape": [6, 16]}}]
    assert (t["old_parameters"], t["new_parameters"]) == (16 * 8 + 16 + 64, 16 * 8 + 16 + 96 + 64)


def test_identical_says_so_and_exits_0_even_with_exit_code(repo: Repo) -> None:
    repo.model(tensors=layers())
    repo.save("models/clf.safetensors", "clf", "--metric", "acc=0.5")
    res = repo.ckpt("diff", "clf", "clf", "--exit-code")
    assert res.code == 0 and "identical" in res.out
    repo.save("models/clf.safetensors", "clf", "--metric", "acc=0.6")
    assert repo.ckpt("diff", "clf~1", "clf", "--exit-code").code == 1
    assert repo.ckpt("diff", "clf~1", "clf").code == 0


def test_metric_on_one_side_only_and_directions(repo: Repo) -> None:
    repo.model(tensors=layers())
    repo.save("models/clf.safetensors", "clf", "--metric", "acc=0.8", "--metric", "val_loss=0.5",
              "--metric", "old_only=1")
    repo.save("models/clf.safetensors", "clf", "--metric", "acc=0.9", "--metric", "val_loss=0.6",
              "--metric", "new_only=2")
    rows = {m["name"]: m for m in sections(repo, "clf~1", "clf")["metrics"]}
    assert rows["old_only"]["change"] == "removed" and rows["new_only"]["change"] == "added"
    assert rows["acc"]["direction"] == "better" and rows["acc"]["goal"] == "max"
    assert rows["acc"]["abs_delta"] == pytest.approx(0.1)
    assert rows["acc"]["rel_delta"] == pytest.approx(0.125)
    assert rows["val_loss"]["direction"] == "worse" and rows["val_loss"]["goal"] == "min"


def test_metric_goals_from_config_override_the_name_guess(repo: Repo) -> None:
    cfg = repo.path / ".ckpt" / "config.yaml"
    cfg.write_text(cfg.read_text().replace("goals: {}", "goals: {acc: min}"))
    repo.model(tensors=layers())
    repo.save("models/clf.safetensors", "clf", "--metric", "acc=0.8")
    repo.save("models/clf.safetensors", "clf", "--metric", "acc=0.9")
    (row,) = sections(repo, "clf~1", "clf", "--only", "metrics")["metrics"]
    assert (row["goal"], row["direction"]) == ("min", "worse")


def test_code_section_lists_code_commits_not_saves(repo: Repo) -> None:
    repo.model(tensors=layers())
    repo.save("models/clf.safetensors", "clf")
    (repo.path / "train.py").write_text("print('training')\nprint('better')\n")
    repo.git("commit", "-q", "-am", "train longer")
    repo.save("models/clf.safetensors", "clf")
    code = sections(repo, "clf~1", "clf", "--only", "code")["code"]
    assert code["commits"] == 1
    assert code["files"] == [{"path": "train.py", "added": 1, "deleted": 0}]


def test_data_and_environment_changes(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    def pointer(md5: str) -> None:
        (repo.path / "data").mkdir(exist_ok=True)
        (repo.path / "data" / "train.csv.dvc").write_text(
            f"outs:\n- md5: {md5}\n  size: 10\n  hash: md5\n  path: train.csv\n")

    repo.model(tensors=layers())
    pointer("a" * 32)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    repo.save("models/clf.safetensors", "clf", "--data", "data/train.csv")
    pointer("b" * 32)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    repo.save("models/clf.safetensors", "clf", "--data", "data/train.csv")
    got = sections(repo, "clf~1", "clf", "--only", "data,environment")
    assert got["data"] == [{"path": "data/train.csv", "change": "changed", "old": "a" * 32,
                            "new": "b" * 32}]
    assert got["environment"] == [{"path": "env.CUDA_VISIBLE_DEVICES", "change": "changed",
                                   "old": "0", "new": "0,1"}]


def test_distributions_and_slices(repo: Repo) -> None:
    repo.model(tensors=layers())
    save_extra(repo, metrics={"acc": 0.8}, distributions={
        "scores": {"kind": "histogram", "edges": [0, 0.5, 1], "counts": [10, 0]},
        "calib": {"confidence": [0.25, 0.75], "accuracy": [0.25, 0.75], "counts": [1, 1]},
        "same": {"counts": [1, 2]}},
        slices={"lang=en": {"acc": 0.8, "n": 900}, "lang=de": {"acc": 0.8, "n": 100}})
    save_extra(repo, metrics={"acc": 0.9}, distributions={
        "scores": {"kind": "histogram", "edges": [0, 0.5, 1], "counts": [0, 10]},
        "calib": {"confidence": [0.25, 0.75], "accuracy": [0.35, 0.75], "counts": [1, 1]},
        "same": {"counts": [1, 2]}},
        slices={"lang=en": {"acc": 0.85, "n": 900}, "lang=de": {"acc": 0.6, "n": 100}})
    got = sections(repo, "clf~1", "clf", "--only", "distributions,slices")
    dist = {d["name"]: d for d in got["distributions"]}
    assert set(dist) == {"scores", "calib"}  # unchanged ones are not listed
    assert dist["scores"]["distance"] == pytest.approx(1.0) and dist["scores"]["flagged"]
    assert dist["calib"]["new_ece"] == pytest.approx(0.05) and dist["calib"]["flagged"]
    # en: +0.05 * 0.9 = +0.045 outweighs de: -0.2 * 0.1 = -0.02
    assert [(s["slice"], s["direction"]) for s in got["slices"]] == [
        ("lang=en", "better"), ("lang=de", "worse")]
    assert got["slices"][0]["impact"] == pytest.approx(0.045)


def test_older_schema_sidecar_is_migrated_on_read(repo: Repo,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from ckptgit import sidecar

    repo.model(tensors=layers())
    repo.save("models/clf.safetensors", "clf", "--metric", "acc=0.5")
    repo.save("models/clf.safetensors", "clf", "--metric", "acc=0.7")

    def v1_to_v2(doc: dict[str, Any]) -> dict[str, Any]:  # v2 renamed acc to accuracy
        doc["metrics"] = {("accuracy" if k == "acc" else k): v for k, v in doc["metrics"].items()}
        return doc

    monkeypatch.setattr(sidecar, "CURRENT_VERSION", 2)
    monkeypatch.setitem(sidecar.MIGRATIONS, 1, v1_to_v2)
    (row,) = sections(repo, "clf~1", "clf", "--only", "metrics")["metrics"]
    assert (row["name"], row["old"], row["new"]) == ("accuracy", 0.5, 0.7)


def test_unknown_ref_and_section_are_usage_errors(repo: Repo) -> None:
    repo.model(tensors=layers())
    repo.save("models/clf.safetensors", "clf")
    res = repo.ckpt("diff", "nope", "clf")
    assert res.code == 2 and "nope" in res.err
    res = repo.ckpt("diff", "clf", "--only", "bogus")
    assert res.code == 2 and "unknown section" in res.err


def test_python_api_returns_a_value_object(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    import ckptgit

    repo.model(tensors=layers())
    repo.save("models/clf.safetensors", "clf", "--param", "lr=0.1")
    repo.save("models/clf.safetensors", "clf", "--param", "lr=0.2")
    monkeypatch.chdir(repo.path)
    d = ckptgit.diff("clf~1", "clf", only=["params"])
    assert not d.identical and d.a.id != d.b.id
    assert d.sections["params"][0].new == 0.2
    assert d.to_dict()["sections"]["params"][0]["old"] == 0.1


def _normalise(text: str) -> str:
    text = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", "DATE", text)
    for width, label in ((40, "COMMIT"), (16, "ID"), (12, "SHORTCOMMIT"), (10, "C10"),
                         (8, "SHORTID")):
        text = re.sub(rf"\b[0-9a-f]{{{width}}}\b", label, text)
    return text


def test_markdown_matches_the_fixture(repo: Repo) -> None:
    repo.model(tensors=layers())
    save_extra(repo, metrics={"acc": 0.8, "val_loss": 0.5}, params={"lr": 0.1},
               seeds={"torch": 1}, step=100,
               slices={"lang=en": {"acc": 0.8, "n": 900}, "lang=de": {"acc": 0.8, "n": 100}})
    repo.model(tensors=layers(extra=True))
    save_extra(repo, metrics={"acc": 0.85, "val_loss": 0.55, "f1": 0.7}, params={"lr": 0.05},
               seeds={"torch": 1}, step=200,
               slices={"lang=en": {"acc": 0.85, "n": 900}, "lang=de": {"acc": 0.7, "n": 100}})
    out = repo.ckpt_ok("diff", "clf~1", "clf", "--format", "markdown", "--only",
                       "metrics,params,seeds,tensors,slices").out
    fixture = FIXTURES / "diff.md"
    if os.environ.get("UPDATE_FIXTURES") == "1":  # after an intended change of the format
        fixture.write_text(_normalise(out))
    assert _normalise(out) == fixture.read_text()


def test_real_git_ckpt_subprocess(repo: Repo) -> None:
    repo.model(tensors=layers())
    repo.save("models/clf.safetensors", "clf", "--param", "lr=0.1")
    repo.save("models/clf.safetensors", "clf", "--param", "lr=0.3")
    done = repo.run_git_ckpt("diff", "clf~1", "clf", "--only", "params", "--exit-code")
    assert done.returncode == 1, done.stderr
    assert "lr" in done.stdout and "0.3" in done.stdout


def test_distributions_and_slices_given_at_save_are_compared(repo: Repo, tmp_path: Path) -> None:
    hist = tmp_path / "dist.yaml"
    sl = tmp_path / "slices.json"
    hist.write_text("scores: {kind: histogram, counts: [10, 10, 10, 10]}\n")
    sl.write_text('{"lang=en": {"acc": 0.9, "n": 100}, "lang=de": {"acc": 0.8, "n": 50}}')
    repo.model(seed=1)
    repo.save("models/clf.safetensors", "clf", "--distributions", str(hist), "--slices", str(sl))
    hist.write_text("scores: {kind: histogram, counts: [40, 0, 0, 0]}\n")
    sl.write_text('{"lang=en": {"acc": 0.9, "n": 100}, "lang=de": {"acc": 0.6, "n": 50}}')
    repo.model(seed=2)
    repo.save("models/clf.safetensors", "clf", "--distributions", str(hist), "--slices", str(sl))
    out = repo.ckpt_ok("diff", "clf~1", "clf", "--format", "json").json()
    (dist,) = out["sections"]["distributions"]
    assert dist["name"] == "scores" and dist["flagged"] is True
    (de,) = out["sections"]["slices"]
    assert (de["slice"], de["metric"], de["direction"]) == ("lang=de", "acc", "worse")


def test_sections_alike_in_value_but_not_in_type_still_differ() -> None:
    """The shortcut for equal sections (no deepdiff import) never hides a change of type, a
    NaN, or an order-only difference deepdiff would judge."""
    from ckptgit.compare import sections

    assert sections.changes({"lr": 1, "x": [1, 2]}, {"lr": 1, "x": [1, 2]}) == []
    assert [c.path for c in sections.changes({"lr": 1}, {"lr": 1.0})] == ["lr"]
    assert [c.path for c in sections.changes({"ok": 1}, {"ok": True})] == ["ok"]
    assert sections.changes({"a": 1, "b": 2}, {"b": 2, "a": 1}) == []
    nan = [c.path for c in sections.changes({"m": float("nan")}, {"m": float("nan")})]
    assert nan == sections_nan_paths()


def sections_nan_paths() -> list[str]:
    """What deepdiff itself says of two NaNs (the shortcut must not decide it)."""
    from deepdiff import DeepDiff

    return ["m"] if DeepDiff({"m": float("nan")}, {"m": float("nan")}) else []
