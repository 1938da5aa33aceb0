"""``git ckpt list`` and ``git ckpt show``: order, filters, JSON shape, the whole sidecar."""

from __future__ import annotations

from typing import Any

import yaml
from conftest import Repo

MODEL = "models/clf.safetensors"


def _populate(repo: Repo) -> list[dict[str, Any]]:
    saved = []
    for i in range(3):
        repo.model(seed=i)
        saved.append(repo.save(MODEL, "clf", "--step", str(i), "--metric", f"acc={0.5 + i / 10}",
                               "--param", "lr=3e-4"))
        repo.model("models/tok.safetensors", seed=10 + i)
        saved.append(repo.save("models/tok.safetensors", "tok", "--metric", f"loss={1 - i / 10}"))
    return saved


def test_list_newest_first_with_json_fields(repo: Repo) -> None:
    saved = _populate(repo)
    listed = repo.ckpt_ok("list", "--json").json()
    assert [c["id"] for c in listed] == [s["id"] for s in reversed(saved)]
    for row, s in zip(listed, reversed(saved), strict=True):
        assert {"id", "name", "commit", "created_at", "metrics", "params"} <= set(row)
        assert row["commit"] == s["commit"] and row["created_at"] == s["created_at"]
        assert row["artifact"]["sha256"] == s["artifact"]["sha256"]
    assert listed[1]["metrics"] == {"acc": 0.7}
    assert listed[1]["params"] == {"lr": 0.0003}
    assert listed[1]["step"] == 2
    assert [c["created_at"] for c in listed] == sorted((c["created_at"] for c in listed),
                                                       reverse=True)


def test_list_name_and_limit(repo: Repo) -> None:
    saved = _populate(repo)
    clf = repo.ckpt_ok("list", "--name", "clf", "--json").json()
    assert [c["id"] for c in clf] == [s["id"] for s in reversed(saved) if s["name"] == "clf"]
    two = repo.ckpt_ok("list", "--limit", "2", "--json").json()
    assert [c["id"] for c in two] == [saved[-1]["id"], saved[-2]["id"]]
    one = repo.ckpt_ok("list", "--name", "tok", "--limit", "1", "--json").json()
    assert [c["id"] for c in one] == [saved[-1]["id"]]
    assert repo.ckpt_ok("list", "--name", "nope", "--json").json() == []
    assert repo.ckpt("list", "--limit", "0").code == 2


def test_list_table(repo: Repo) -> None:
    saved = _populate(repo)
    out = repo.ckpt_ok("list").out
    for col in ("id", "name", "step", "created", "acc"):
        assert col in out
    assert saved[0]["id"][:8] in out and saved[-1]["id"][:8] in out


def test_list_empty(repo: Repo) -> None:
    res = repo.ckpt_ok("list")
    assert res.out == "" and "no checkpoints yet" in res.err
    assert repo.ckpt_ok("list", "--json").json() == []


def test_show_is_the_whole_sidecar_plus_commit(repo: Repo) -> None:
    saved = _populate(repo)
    target = saved[2]
    doc = repo.ckpt_ok("show", target["id"], "--json").json()
    committed = yaml.safe_load(repo.git("show", f"{target['commit']}:{MODEL}.ckpt.yaml"))
    assert doc.pop("commit") == target["commit"]
    assert doc.pop("stages") == []
    assert doc == committed
    text = yaml.safe_load(repo.ckpt_ok("show", target["id"], "--all").out)
    assert text["id"] == target["id"] and text["commit"] == target["commit"]
    assert text["environment"] == committed["environment"]
    short = repo.ckpt_ok("show", target["id"]).out  # the default: a summary
    assert target["id"] in short and "--all" in short and "environment:" not in short


def test_parent_chain(repo: Repo) -> None:
    saved = _populate(repo)
    clf = [s for s in saved if s["name"] == "clf"]
    assert clf[0]["parent"] is None
    assert clf[1]["parent"] == clf[0]["id"] and clf[2]["parent"] == clf[1]["id"]
    repo.model(seed=99)
    explicit = repo.save(MODEL, "clf", "--parent", "clf~2")
    assert explicit["parent"] == clf[0]["id"]


def test_list_columns_match_their_row_by_row_forms() -> None:
    """The stages, metric-name and float columns of ``list`` (made column-wise for 100,000
    rows) say what the row-by-row forms say, hostile-looking names and values included."""
    from ckptgit.commands import list as listing
    from ckptgit.commands._common import fmt_value

    names = ["clf", "clf", "b", "clf", "b@x"]
    commits = ["c1", "c2", "c1", "c1", "c3"]
    held = {"clf@c1": ["staging", "prod"], "b@x@c3": ["dev"], "gone@c9": ["prod"]}
    expected = [",".join(sorted(held[f"{n}@{c}"])) if f"{n}@{c}" in held else ""
                for n, c in zip(names, commits, strict=True)]
    assert listing._stages(held, names, commits) == expected  # noqa: SLF001
    many = {f"n{i}@c{i}": ["s"] for i in range(100)}
    rows = [f"n{i}" for i in range(100)]
    assert listing._stages(many, rows, [f"c{i}" for i in range(100)]) == ["s"] * 100  # noqa: SLF001
    for values in ([0.5, 1e-7, float("nan"), 12345.678], [1, 0.5, "x", None, True]):
        assert listing._formatted(values) == list(map(fmt_value, values))  # noqa: SLF001
    flat = [{"loss": 1.0}, {"acc": 0.5, "loss": 2.0}, {"f1": 0.1}, {"x": 1}]
    nested = [{"hist": {"a": 1}, "loss": 1.0}, {"hist": 2.0}]
    assert listing._first_keys(flat, 3) == ["loss", "acc", "f1"]  # noqa: SLF001
    assert listing._first_keys(nested, 3) == ["loss", "hist"]  # noqa: SLF001
