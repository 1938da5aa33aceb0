"""Hostile records in history and bad flags for the readers: list, show, verify, audit,
restore, diff, rank, check, promote, history, hooks."""

from __future__ import annotations

import base64
import json
import os
import subprocess
from typing import Any

import pytest
import yaml

from bad_inputs.catalogue import Case, judge
from bad_inputs.conftest import one_checkpoint, prepared

template = prepared(one_checkpoint)

SIDECAR = "models/clf.safetensors.ckpt.yaml"
BOMB_DOC = "schema_version: 1\nid: &a 00000000deadbeef\nname: evil\nx: [*a, *a, *a]\n"


def _clf_doc(work: Any) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((work.repo.path / SIDECAR).read_text())
    return doc


def _commit(work: Any, files: dict[str, str | bytes], message: str) -> None:
    for rel, text in files.items():
        path = work.repo.path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode() if isinstance(text, str) else text)
    work.repo.git("add", *files)
    subprocess.run(["git", "commit", "-q", "--no-verify", "-F", "-"], cwd=work.repo.path,
                   input=message, text=True, check=True)


def _save_by_hand(sidecar_text: str | bytes | None = None, md5: str | None = None,
                  path: str = "models/evil.bin") -> Any:
    """A "save" committed with plain git and no hooks: what a hostile pusher controls."""
    def setup(work: Any) -> None:
        doc = _clf_doc(work)
        doc.update(id="00000000deadbeef", name="evil")
        doc["artifact"]["path"] = path
        if md5 is not None:
            doc["artifact"]["md5"] = md5
        text = sidecar_text if sidecar_text is not None else yaml.safe_dump(doc)
        pointer = {"outs": [{"md5": md5 or doc["artifact"]["md5"], "size": 3, "hash": "md5",
                             "path": path.rsplit("/", 1)[-1]}]}
        _commit(work, {f"{path}.ckpt.yaml": text, f"{path}.dvc": yaml.safe_dump(pointer)},
                "ckpt: save evil\n\nCkpt-Id: 00000000deadbeef\nCkpt-Name: evil\n")
    return setup


def _hostile_listing(work: Any) -> None:
    """A directory checkpoint whose listing (in the cache) names a path outside."""
    from ckptgit import storage

    oid = "0123456789abcdef0123456789abcdef.dir"
    listing = storage.object_path(work.repo.path, oid)
    listing.parent.mkdir(parents=True, exist_ok=True)
    listing.write_text(json.dumps([{"relpath": "../../../escaped", "md5": "f" * 32}]))
    _save_by_hand(md5=oid, path="models/evil")(work)


def _edit_by_hand(text: str) -> Any:
    def setup(work: Any) -> None:
        _commit(work, {SIDECAR: text}, "edit the record by hand")
    return setup


def _config(text: str) -> Any:
    def setup(work: Any) -> None:
        cfg = work.repo.path / ".ckpt" / "config.yaml"
        cfg.write_text(cfg.read_text() + text)
    return setup


def _fifo_at(rel: str) -> Any:
    def setup(work: Any) -> None:
        path = work.repo.path / rel
        path.unlink()
        os.mkfifo(path)
    return setup


def _file_at(rel: str) -> Any:
    def setup(work: Any) -> None:
        (work.repo.path / rel).write_text("x")
    return setup


def _oms_bundle(raw: str) -> Any:
    """A ``sign`` commit whose OMS bundle is ``raw`` (the audit reads every one)."""
    def setup(work: Any) -> None:
        ckpt_id = _clf_doc(work)["id"]
        _commit(work, {"models/clf.safetensors.sig": raw},
                f"ckpt: sign clf\n\nCkpt-Action: sign\nCkpt-Id: {ckpt_id}\n")
    return setup


NESTED_MAP = ("[0,1,2,3,4,5,6,7,8,9].map(a, [0,1,2,3,4,5,6,7,8,9].map(b, "
              "[0,1,2,3,4,5,6,7,8,9].map(c, c))).size() > 0")
SLOW = "params.xs.map(a, params.xs.map(b, b)).size() > 0"
DEEP = "a: " + "[" * 10000 + "]" * 10000 + "\n"
HUGE = "schema_version: 1\nid: 00000000deadbeef\nnotes: " + "x" * (5 << 20) + "\n"

CASES = [
    # records in history that no reader may expand, recurse into or read whole
    Case("list-skips-alias-bomb", ("list",), 0, "alias", _save_by_hand(BOMB_DOC),
         expect="warning"),
    Case("list-skips-deep-sidecar", ("list",), 0, "nested deeper", _save_by_hand(DEEP),
         expect="warning"),
    Case("list-skips-huge-sidecar", ("list",), 0, "over the limit", _save_by_hand(HUGE),
         expect="warning"),
    Case("verify-alias-bomb", ("verify",), 3, "alias", _save_by_hand(BOMB_DOC),
         expect="finding"),
    Case("verify-all-deep", ("verify", "--all"), 3, "nested deeper", _save_by_hand(DEEP),
         expect="finding"),
    Case("verify-huge", ("verify",), 3, "over the limit", _save_by_hand(HUGE), expect="finding"),
    Case("verify-edit-to-bomb", ("verify",), 3, "clf", _edit_by_hand(BOMB_DOC),
         expect="finding"),
    Case("audit-alias-bomb", ("audit",), 3, "alias", _save_by_hand(BOMB_DOC), expect="finding"),
    Case("audit-deep", ("audit",), 3, "nested deeper", _save_by_hand(DEEP), expect="finding"),
    Case("audit-deep-oms-bundle", ("audit",), 3, "nested deeper",
         _oms_bundle("[" * 100000 + "]" * 100000), expect="finding"),
    Case("audit-deep-oms-statement", ("audit",), 3, "nested deeper",
         _oms_bundle(json.dumps({"verificationMaterial": {"publicKey": {"hint": "ab"}},
                                 "dsseEnvelope": {
                                     "payloadType": "application/vnd.in-toto+json",
                                     "payload": base64.b64encode(b"[" * 5000 + b"]" * 5000)
                                     .decode(),
                                     "signatures": [{"sig": ""}]}})),
         expect="finding"),
    Case("show-skipped-record", ("show", "evil"), 2, "unknown checkpoint",
         _save_by_hand(BOMB_DOC), expect="finding"),
    # a pointer whose md5 is a path makes the commit no save at all (the one verifier): it is
    # never resolved, so nothing is ever read at that path
    Case("restore-pointer-traversal", ("restore", "evil"), 2, "unknown checkpoint",
         _save_by_hand(md5="../../../../etc/passwd")),
    Case("restore-listing-escape", ("restore", "evil"), 3, "hostile entry", _hostile_listing),
    # restore flags
    Case("restore-to-proc", ("restore", "clf", "--to", "/proc/self"), 2, "--to /proc/self"),
    Case("restore-to-sys", ("restore", "clf", "--to", "/sys"), 2, "--to /sys"),
    Case("restore-to-file", ("restore", "clf", "--to", "params.yaml"), 2, "is a file",
         _file_at("params.yaml")),
    Case("restore-unknown", ("restore", "nosuch"), 2, "unknown checkpoint"),
    Case("restore-over-fifo", ("restore", "clf"), 2, "not a regular file",
         _fifo_at("models/clf.safetensors")),
    Case("verify-beside-a-fifo", ("verify",), 0, "all good",
         _fifo_at("models/clf.safetensors"), expect="finding"),
    # diff, rank, check
    Case("diff-unknown", ("diff", "clf", "nosuch"), 2, "unknown checkpoint"),
    Case("diff-bad-only", ("diff", "clf", "clf", "--only", "bogus"), 2, "bogus"),
    Case("diff-bad-format", ("diff", "clf", "clf", "--format", "bogus"), 2, "bogus"),
    Case("rank-nested-map", ("rank", "--by", "acc", "--where", NESTED_MAP), 2,
         "limits.cel_comprehensions"),
    Case("rank-slow-filter", ("rank", "--by", "acc", "--where", SLOW), 2, "limits.cel_seconds",
         _config("limits:\n  cel_seconds: 0.5\n")),
    Case("rank-long-filter", ("rank", "--by", "acc", "--where", "1 == 1 && " * 300 + "true"), 2,
         "limits.cel_chars"),
    Case("rank-deep-parens", ("rank", "--by", "acc", "--where", "(" * 300 + "true" + ")" * 300), 2,
         "too deeply nested"),
    Case("rank-syntax", ("rank", "--by", "acc", "--where", "metrics.acc >>> 1"), 2, "invalid CEL"),
    Case("rank-top-negative", ("rank", "--top", "-1"), 2, "top"),
    Case("check-unknown", ("check", "nosuch"), 2, "unknown checkpoint"),
    Case("check-bad-baseline", ("check", "clf", "--baseline", "nosuch"), 2, "unknown"),
    # governance readers
    Case("promote-unknown-stage", ("promote", "clf", "--stage", "nosuch", "--rationale", "x"),
         2, "not in"),
    Case("promote-unknown-ref", ("promote", "nosuch", "--stage", "dev", "--rationale", "x"), 2,
         "unknown checkpoint"),
    Case("history-at-huge", ("history", "--at", "9" * 20), 2, "out of range"),
    Case("history-at-newline", ("history", "--at", "1\n2"), 2, "not a time"),
    Case("hooks-server-missing", ("hooks", "install", "--server", "/missing.git"), 2,
         "not a git repository"),
    Case("hooks-server-file", ("hooks", "install", "--server", "params.yaml"), 2,
         "not a git repository", _file_at("params.yaml")),
    Case("verify-unknown", ("verify", "nosuch"), 2, "unknown checkpoint"),
    Case("verify-jobs-zero", ("verify", "--jobs", "0"), 2, "jobs"),
    Case("audit-since-garbage", ("audit", "--since", "yesterday-ish"), 2, "--since"),
    Case("list-limit-negative", ("list", "--limit", "-1"), 2, "limit"),
]


@pytest.mark.parametrize("case", [c.param() for c in CASES])
def test_readers_refuse(work: Any, case: Case) -> None:
    judge(work, case)


def test_a_gate_stops_a_slow_filter() -> None:
    """The same bound holds in a promotion gate: the gate fails with the reason, quickly."""
    from ckptgit import limits
    from ckptgit.config import Gate
    from ckptgit.governance import gates

    limits.activate(limits.Limits(cel_seconds=0.3))
    try:
        result = gates._metric(Gate("metric", SLOW), {"params": {"xs": list(range(3000))}})
    finally:
        limits.activate(limits.DEFAULT)
    assert not result.passed and "limits.cel_seconds" in result.detail


def test_json_output_is_strict_even_for_a_nan_in_history(work: Any) -> None:
    """A record written by hand with NaN and infinity: --json stays valid JSON."""
    doc = _clf_doc(work)
    doc["metrics"] = {"acc": float("nan"), "loss": float("inf")}
    doc["artifact"]["path"] = "models/evil.bin"  # a save's sidecar names its own artifact
    _save_by_hand(yaml.safe_dump(doc).replace("id: " + doc["id"], "id: 00000000deadbeef")
                  .replace("name: clf", "name: evil"))(work)
    for args in (("show", "evil", "--json"), ("list", "--json"), ("rank", "--by", "acc",
                                                                   "--json")):
        res = work.repo.ckpt(*args)
        assert res.code == 0, res
        json.loads(res.out, parse_constant=_no_constant)


def _no_constant(text: str) -> None:
    pytest.fail(f"{text} in --json output")
