"""Hostile inputs to ``git ckpt save``: every flag, every file it reads, every file type."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

import pytest
from conftest import write_model

from bad_inputs.catalogue import Case, judge
from bad_inputs.conftest import one_checkpoint, prepared

template = prepared(one_checkpoint)

MODEL = "models/clf.safetensors"
BOMB = """a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def _file(rel: str, text: str | bytes) -> Any:
    def setup(work: Any) -> None:
        path = work.repo.path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode() if isinstance(text, str) else text)
    return setup


def _fifo(rel: str) -> Any:
    def setup(work: Any) -> None:
        path = work.repo.path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(path)
    return setup


def _socket(rel: str) -> Any:
    def setup(work: Any) -> None:
        path = work.repo.path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(path))  # the inode stays after close
        sock.close()
    return setup


def _model(rel: str) -> Any:
    def setup(work: Any) -> None:
        write_model(work.repo.path / rel, seed=7)
    return setup


def _dir_with(extra: Any) -> Any:
    """A directory artifact ``out/tok`` with one good file, plus what ``extra`` plants."""
    def setup(work: Any) -> None:
        d = work.repo.path / "out" / "tok"
        d.mkdir(parents=True)
        (d / "vocab.txt").write_text("a b c\n")
        extra(d, work)
    return setup


def _link_out(d: Path, work: Any) -> None:
    secret = work.base / "secret.txt"
    secret.write_text("credentials\n")
    (d / "creds").symlink_to(secret)


def _link_in(d: Path, work: Any) -> None:
    (d / "again").symlink_to(d / "vocab.txt")


def _dir_link(d: Path, work: Any) -> None:
    (d / "sub").symlink_to(work.base, target_is_directory=True)


def _fifo_in(d: Path, work: Any) -> None:
    os.mkfifo(d / "pipe")


def _newline_in(d: Path, work: Any) -> None:
    (d / "two\nlines").write_text("x")


def _many(*setups: Any) -> Any:
    def setup(work: Any) -> None:
        for s in setups:
            s(work)
    return setup


def _deep_yaml(depth: int) -> str:
    return "a: " + "[" * depth + "1" + "]" * depth + "\n"


def _deep_block(depth: int) -> str:
    return "".join(" " * i + f"k{i}:\n" for i in range(depth)) + " " * depth + "v\n"


def _limits(text: str) -> Any:
    def setup(work: Any) -> None:
        cfg = work.repo.path / ".ckpt" / "config.yaml"
        cfg.write_text(cfg.read_text() + text)
    return setup


def save(*extra: str, path: str = MODEL, name: str = "clf") -> tuple[str, ...]:
    return ("save", path, "--name", name, *extra)


LONG = "m" * 240 + ".bin"
CASES = [
    # --metrics / --params / --distributions / --slices files
    Case("params-alias-bomb", save("--params", "p.yaml"), 2, "alias", _file("p.yaml", BOMB)),
    Case("metrics-alias-bomb", save("--metrics", "m.yaml"), 2, "alias", _file("m.yaml", BOMB)),
    Case("metrics-anchor-only", save("--metrics", "m.yaml"), 2, "anchor",
         _file("m.yaml", "a: &x 1\nb: 2\n")),
    Case("distributions-alias", save("--distributions", "d.yaml"), 2, "alias",
         _file("d.yaml", BOMB)),
    Case("slices-deep", save("--slices", "s.json"), 2, "nested deeper",
         _file("s.json", "[" * 10000 + "]" * 10000)),
    Case("metrics-too-big-json", save("--metrics", "m.json"), 2, "over the limit",
         _file("m.json", '{"a": "' + "x" * (2 << 20) + '"}')),
    Case("params-too-big-yaml", save("--params", "p.yaml"), 2, "companion",
         _file("p.yaml", "a: " + "x" * (2 << 20) + "\n")),
    Case("params-nested-10000-flow", save("--params", "p.yaml"), 2, "nested deeper",
         _file("p.yaml", _deep_yaml(10000))),
    Case("params-nested-100-flow", save("--params", "p.yaml"), 2, "nested deeper",
         _file("p.yaml", _deep_yaml(100))),
    Case("params-nested-block", save("--params", "p.yaml"), 2, "nested deeper",
         _file("p.yaml", _deep_block(200))),
    Case("metrics-nested-json", save("--metrics", "m.json"), 2, "nested deeper",
         _file("m.json", '{"a": ' + "[" * 100 + "]" * 100 + "}")),
    Case("metrics-json-10000", save("--metrics", "m.json"), 2, "nested deeper",
         _file("m.json", "[" * 10000 + "]" * 10000)),
    Case("metrics-fifo", save("--metrics", "m.json"), 2, "not a regular file",
         _fifo("m.json")),
    Case("metrics-dev-zero", save("--metrics", "/dev/zero"), 2, "not a regular file"),
    Case("metrics-directory", save("--metrics", "models"), 2, "not a regular file"),
    Case("params-missing", save("--params", "nope.yaml"), 2, "does not exist"),
    Case("metrics-python-tag", save("--metrics", "m.yaml"), 2, "not valid YAML",
         _file("m.yaml", "a: !!python/object/apply:os.system ['true']\n")),
    Case("metrics-two-documents", save("--metrics", "m.yaml"), 2, "not valid YAML",
         _file("m.yaml", "a: 1\n---\nb: 2\n")),
    Case("metrics-not-a-mapping", save("--metrics", "m.yaml"), 2, "mapping",
         _file("m.yaml", "- 1\n- 2\n")),
    Case("metrics-binary-garbage", save("--metrics", "m.json"), 2, "not valid JSON",
         _file("m.json", b"\xff\xfe\x00garbage")),
    Case("limits-configurable", save("--metrics", "m.json"), 2, "over the limit of 10",
         _many(_limits("limits:\n  values_bytes: 10\n"), _file("m.json", '{"acc": 0.91}'))),
    Case("limits-negative", save(), 2, "positive", _limits("limits:\n  sidecar_bytes: -1\n")),
    Case("limits-unknown-key", save(), 2, "unknown limits", _limits("limits:\n  fast: 1\n")),
    Case("limits-nan", save(), 2, "positive", _limits("limits:\n  cel_seconds: .nan\n")),
    Case("config-alias-bomb", save(), 2, "alias", _limits("x: &a [1]\ny: [*a, *a]\n")),
    # K=V pairs
    Case("metric-conflict-group-then-value", save("--metric", "a.b=1", "--metric", "a=2"), 2,
         "conflicts"),
    Case("metric-conflict-value-then-group", save("--metric", "a=2", "--metric", "a.b=1"), 2,
         "already a value"),
    Case("metric-twice", save("--metric", "a=1", "--metric", "a=2"), 2, "given twice"),
    Case("param-no-key", save("--param", "=1"), 2, "KEY=VALUE"),
    Case("param-empty-part", save("--param", "a..b=1"), 2, "empty part"),
    Case("seed-no-equals", save("--seed", "torch"), 2, "KEY=VALUE"),
    # numbers
    Case("epoch-nan", save("--epoch", "nan"), 2, "finite"),
    Case("epoch-inf", save("--epoch", "inf"), 2, "finite"),
    Case("epoch-negative", save("--epoch", "-1"), 2, "epoch"),
    Case("step-negative", save("--step", "-1"), 2, "step"),
    Case("step-not-integer", save("--step", "1e3"), 2, "step"),
    Case("step-huge", save("--step", "9" * 40), 2, "step"),
    # the artifact itself
    Case("artifact-fifo", save(path="models/pipe", name="pipe"), 2, "FIFO", _fifo("models/pipe")),
    Case("artifact-socket", save(path="models/sock", name="sock"), 2, "socket",
         _socket("models/sock")),
    Case("artifact-device", save(path="/dev/null", name="dev"), 2, "outside the repository"),
    Case("dir-symlink-out", save(path="out/tok", name="tok"), 2, "symlink", _dir_with(_link_out)),
    Case("dir-symlink-in", save(path="out/tok", name="tok"), 2, "symlink", _dir_with(_link_in)),
    Case("dir-symlinked-subdir", save(path="out/tok", name="tok"), 2, "symlink",
         _dir_with(_dir_link)),
    Case("dir-fifo-member", save(path="out/tok", name="tok"), 2, "FIFO", _dir_with(_fifo_in)),
    Case("dir-newline-member", save(path="out/tok", name="tok"), 2, "control character",
         _dir_with(_newline_in)),
    Case("name-too-long", save(path=f"models/{LONG}", name="long"), 2, "too long",
         _model(f"models/{LONG}")),
    Case("newline-in-file-name", save(path="models/a\nb.bin", name="nl"), 2,
         "control character", _model("models/a\nb.bin")),
    Case("escape-in-file-name", save(path="models/a\x1b[31mb.bin", name="esc"), 2,
         "control character", _model("models/a\x1b[31mb.bin")),
    Case("line-separator-in-file-name", save(path="models/a\u2028b.bin", name="ls"), 2,
         "control character", _model("models/a\u2028b.bin")),
    # --with, --data, --parent, names and text
    Case("with-fifo", save("--with", "models/pipe"), 2, "FIFO", _fifo("models/pipe")),
    Case("with-dir-symlink", save("--with", "out/tok"), 2, "symlink", _dir_with(_link_out)),
    Case("with-itself", save("--with", MODEL), 2, "listed twice"),
    Case("with-long-name", save("--with", f"models/{LONG}"), 2, "too long",
         _model(f"models/{LONG}")),
    Case("data-outside", save("--data", "/etc/passwd"), 2, "outside the repository"),
    Case("data-untracked", save("--data", "params.yaml"), 2, "not tracked by DVC",
         _file("params.yaml", "a: 1\n")),
    Case("parent-unknown", save("--parent", "nosuch"), 2, "unknown checkpoint"),
    Case("name-traversal", save(name="../x"), 2, "name"),
    Case("name-empty", save(name=""), 2, "name"),
    Case("name-newline", save(name="a\nb"), 2, "name"),
    Case("label-empty", save("--label", " "), 2, "--label"),
    Case("note-control", save("--note", "bell\x07"), 2, "--note"),
]


@pytest.mark.parametrize("case", [c.param() for c in CASES])
def test_save_refuses(work: Any, case: Case) -> None:
    judge(work, case)


def test_a_sidecar_over_the_limit_is_not_committed(work: Any) -> None:
    """Known at the end of the save (the sidecar is written while the bytes stream in): refused
    before the commit; only the unreferenced cache object remains, which gc removes."""
    cfg = work.repo.path / ".ckpt" / "config.yaml"
    # above every sidecar already in history (they stay readable), below this save's
    cfg.write_text(cfg.read_text() + "limits:\n  sidecar_bytes: 100000\n")
    params = work.repo.path / "big-params.yaml"
    params.write_text("".join(f"p{i}: {'v' * 200}\n" for i in range(600)))  # ~125 KB
    write_model(work.repo.path / MODEL, seed=3)
    before = work.snapshot()
    res = work.repo.ckpt(*save("--params", "big-params.yaml"))
    assert res.code == 2 and "the sidecar would be" in res.err and "--with" in res.err, res
    after = work.snapshot()
    assert (after.refs, after.index, after.tree, after.remote) == (
        before.refs, before.index, before.tree, before.remote)
    assert set(before.cache) <= set(after.cache)
