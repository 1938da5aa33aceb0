"""The index reads sidecars without their bulky sections, and never reads them wrongly."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from conftest import Repo

from ckptgit import index, sidecar
from ckptgit.errors import CkptError
from ckptgit.model import Checkpoint

MODEL = "models/clf.safetensors"


def _doc() -> dict[str, Any]:
    return {
        "schema_version": 1, "id": "0123456789abcdef", "name": "clf",
        "created_at": "2026-01-01T00:00:00.000000Z",
        "artifact": {"path": MODEL, "format": "safetensors", "size": 1, "md5": "0" * 32,
                     "sha256": "1" * 64},
        "code": {"commit": None, "branch": "main", "dirty": False},
        "environment": {"python": "3.11", "platform": "linux",
                        "packages": {f"pkg{i}": "1.0" for i in range(200)},
                        "env": {"NOTE": "line one\nmetrics: not really\nparams: nor this"}},
        "seeds": {}, "params": {"lr": 0.1}, "metrics": {"acc": 0.9}, "step": 3,
        "tensors": {"count": 1, "parameters": 4, "tensors": [
            {"name": "w", "dtype": "F32", "shape": [2, 2]}]},
        "labels": ["a"], "notes": "x " * 80 + "metrics: {acc: 0}",
    }


def _odd_forms() -> list[bytes]:
    doc = {**_doc(), "parent": "fedcba9876543210", "command": ["git", "ckpt", "save"]}
    text = sidecar.dump(doc)
    assert "\nseeds: {}\n" in text and "\n- git\n" in text
    forms = [text, yaml.safe_dump(doc, default_flow_style=True), "# comment\n" + text,
             text.replace("schema_version: 1\n", "schema_version: 0\n", 1),
             text.replace("environment:\n", "environment:\n# note\n")]
    forms += [text.replace("\nseeds: {}\n", f"\nseeds: {{}}\n{odd}\n")
              for odd in ("-metrics: 1", "---", "-\tx", "# c", "'q': 1")]
    # YAML breaks lines at CR, NEL, LS and PS too: after one, ``id:`` starts a top-level key
    forms += [text.replace("\nseeds: {}\n", f"\nseeds:\n  x: 1{br}id: 0000000000000bad\n", 1)
              for br in ("\r", "\u0085", "\u2028", "\u2029")]
    return [f.encode() for f in forms]


@pytest.mark.parametrize("raw", _odd_forms())
def test_the_summary_is_the_whole_parse(raw: bytes) -> None:
    try:
        full = sidecar.load(raw)
    except CkptError:
        with pytest.raises(CkptError):
            index._summary(raw, "t")
        return
    assert repr(index._summary(raw, "t")) == repr(full)


def test_list_matches_the_sidecars_after_a_cold_rebuild(repo: Repo) -> None:
    saved = []
    for i in range(2):
        repo.model(MODEL, seed=i)
        saved.append(repo.save(MODEL, "clf", "--metric", f"acc={0.5 + i / 10}"))
    for path in (repo.path / ".git" / "ckpt").glob("index-v*.json"):
        path.unlink()
    listed = {c["id"]: c for c in repo.ckpt_ok("list", "--json").json()}
    for s in saved:
        doc = yaml.safe_load(repo.git("show", f"{s['commit']}:{MODEL}.ckpt.yaml"))
        assert listed[s["id"]]["metrics"] == doc["metrics"]
        assert listed[s["id"]]["sha256"] == doc["artifact"]["sha256"]


@pytest.mark.parametrize("section", [
    "environment:\n  python: 'open\nname: evil'\n",   # a quote over a key line: one string
    'environment:\n  python: "open\nname: evil"\n',    # the same, double-quoted
    "environment:\n  python: [1,\nname: evil]\n",      # a flow sequence over a key line
    "environment:\n  python: &v 3.11\n  again: *v\n",  # an alias: the whole text is refused
    "environment:\n  python: !!python/object:os.system {}\n",  # a tag the loader refuses
    "environment:\n  python: !!binary '%%'\n",         # a value the loader cannot build
])
def test_a_row_is_what_the_whole_sidecar_says_or_none(section: str) -> None:
    # ``show`` and ``verify`` read the whole text: ``list`` may never read another name, nor
    # list a save whose sidecar they refuse
    doc = {**_doc(), "environment": None}
    raw = sidecar.dump(doc).replace("environment: null\n", section).encode()
    row = index._summarize((raw, "t", "c" * 40))
    try:
        whole = sidecar.load(raw)
    except CkptError:
        assert not isinstance(row, Checkpoint)
        return
    assert isinstance(row, Checkpoint) and (row.id, row.name) == (whole["id"], whole["name"])
