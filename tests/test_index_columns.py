"""The columnar index (one list per field): a hostile or broken file is rebuilt, never trusted
into a crash; it follows saves and HEAD; rows are built only when read."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import Repo

MODEL = "models/clf.safetensors"


def _index(repo: Repo) -> Path:
    from ckptgit import index

    return repo.path / ".git" / "ckpt" / f"index-v{index.VERSION}.json"


def _ids(repo: Repo, *args: str) -> list[str]:
    return [c["id"] for c in repo.ckpt_ok("list", "--json", *args).json()]


def _saves(repo: Repo, n: int, name: str = "clf", seed: int = 0, *extra: str) -> list[Any]:
    out = []
    for i in range(n):
        repo.model(f"models/{name}.safetensors", seed=seed + i)
        out.append(repo.save(f"models/{name}.safetensors", name, *extra))
    return out


def _load(path: Path) -> dict[str, Any]:
    """The index file as one document: its header's fields and every column."""
    from ckptgit import indexfile
    from ckptgit.saves import FIELDS

    with path.open("rb") as fh:
        found = indexfile.layout(fh, FIELDS)
        assert found is not None
        return {"version": indexfile.VERSION, "head": found.head, "count": found.count,
                "forged": found.forged, "columns": {f: found.column(f) for f in FIELDS}}


def _store(path: Path, data: dict[str, Any]) -> None:
    """``data`` written back in the file's layout, its header saying what ``data`` says."""
    from ckptgit import indexfile

    raw = indexfile.encode(data["head"], data["columns"], data["forged"], tuple(data["columns"]))
    line, _, body = raw.partition(b"\n")
    header = json.loads(line)
    header.update({k: data[k] for k in ("version", "head", "count")})
    path.write_bytes(json.dumps(header).encode() + b"\n" + body)


def _edit(mutate: Callable[[dict[str, Any]], Any]) -> Callable[[Path], None]:
    def apply(path: Path) -> None:
        data = _load(path)
        mutate(data)
        _store(path, data)
    return apply


def _header(mutate: Callable[[dict[str, Any]], Any]) -> Callable[[Path], None]:
    """The header line changed and the body kept as it was."""
    def apply(path: Path) -> None:
        line, _, body = path.read_bytes().partition(b"\n")
        header = json.loads(line)
        mutate(header)
        path.write_bytes(json.dumps(header).encode() + b"\n" + body)
    return apply


def _starts(field: str, row: int, value: bytes) -> Callable[[Path], None]:
    """The start of one element in a column's start table replaced (8 hex digits each)."""
    def apply(path: Path) -> None:
        raw = path.read_bytes()
        line, _, body = raw.partition(b"\n")
        table = json.loads(line)["sections"][field][2] + row * 8
        body = body[:table] + value + body[table + 8:]
        path.write_bytes(line + b"\n" + body)
    return apply


def _cell_garbage(path: Path) -> None:
    """The first id's characters replaced in place: the starts still frame it, it is not JSON."""
    raw = path.read_bytes()
    line, _, body = raw.partition(b"\n")
    at = json.loads(line)["sections"]["id"][0]
    body = body[:at + 1] + b"}{" + body[at + 3:]
    path.write_bytes(line + b"\n" + body)


def _deep(path: Path) -> None:
    from ckptgit import indexfile

    data = _load(path)
    deep = data["columns"]["metrics"][0] = object()
    plain = indexfile._dump_one  # noqa: SLF001

    def dump(value: Any) -> bytes:
        return b"[" * 100_000 + b"]" * 100_000 if value is deep else plain(value)
    indexfile._dump_one = dump  # noqa: SLF001 - the only way to write what json cannot
    try:
        _store(path, data)
    finally:
        indexfile._dump_one = plain  # noqa: SLF001


HOSTILE: dict[str, Callable[[Path], None]] = {
    "truncated": lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]),
    "garbage": lambda p: p.write_bytes(b"\x00\xff" * 500),
    "empty": lambda p: p.write_bytes(b""),
    "not an object": lambda p: p.write_text("[1, 2, 3]\n"),
    "old version": _edit(lambda d: d.update(version=3)),
    "id not a string": _edit(lambda d: d["columns"]["id"].__setitem__(0, 7)),
    "short column": _edit(lambda d: d["columns"]["name"].pop()),
    "count lies": _edit(lambda d: d.update(count=d["count"] + 1)),
    "missing column": _edit(lambda d: d["columns"].pop("commit")),
    "labels hold a number": _edit(lambda d: d["columns"]["labels"].__setitem__(0, [1])),
    "metrics a list": _edit(lambda d: d["columns"]["metrics"].__setitem__(0, [])),
    "size a bool": _edit(lambda d: d["columns"]["size"].__setitem__(0, True)),
    "head an option": _edit(lambda d: d.update(head="--output=/tmp/x")),
    "forgery of numbers": _edit(lambda d: d["forged"].append(
        {"commit": 1, "id": 2, "name": 3, "reason": 4})),
    "forgery with extra keys": _edit(lambda d: d["forged"].append(
        {"commit": "a", "id": "b", "name": "c", "reason": "d", "evil": "e"})),
    "nested past any parser": _deep,
    # the version-4 layout: a header that lies about where things are, a start table that
    # points outside its column or backwards, an element that is not JSON
    "size lies": _header(lambda h: h.update(size=h["size"] + 1)),
    "section past the end": _header(lambda h: h["sections"]["params"].__setitem__(
        1, h["size"])),
    "start table past the end": _header(lambda h: h["sections"]["md5"].__setitem__(
        2, h["size"] - 8)),
    "section a string": _header(lambda h: h["sections"].__setitem__("step", "0")),
    "negative offset": _header(lambda h: h["sections"]["name"].__setitem__(0, -1)),
    "start past its column": _starts("sha256", 1, b"00ffffff"),
    "starts backwards": _starts("name", 1, b"00000000"),
    "start not hex": _starts("path", 1, b"zzzzzzzz"),
    "element not JSON": _cell_garbage,
    "exact not a list": _header(lambda h: h.update(exact="metrics")),
    "exact names no column": _header(lambda h: h.update(exact=["evil"])),
    "exact holds a mapping": _header(lambda h: h.update(exact=[{}])),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_or_broken_index_is_rebuilt(repo: Repo, case: str) -> None:
    saved = _saves(repo, 2)
    expected = [s["id"] for s in reversed(saved)]
    assert _ids(repo) == expected
    HOSTILE[case](_index(repo))
    assert _ids(repo) == expected
    res = repo.ckpt_ok("show", "clf~1")
    assert saved[0]["id"] in res.out
    back = _load(_index(repo))  # rewritten whole, as a rebuild writes it
    assert back["columns"]["id"] == expected and back["count"] == 2


def test_nan_metrics_are_kept_and_the_index_is_not_rebuilt(repo: Repo) -> None:
    """A sidecar may hold ``.nan`` (written by hand or another tool): json.dumps writes the
    NaN token orjson refuses; the file is read back as written, not rebuilt on every run."""
    _saves(repo, 1, "clf", 0, "--metric", "acc=0.5")
    _ids(repo)
    path = _index(repo)
    data = _load(path)
    data["columns"]["metrics"][0]["loss"] = float("nan")
    _store(path, data)
    before = path.stat().st_mtime_ns
    [row] = repo.ckpt_ok("list", "--json").json()
    assert row["metrics"]["acc"] == 0.5 and row["metrics"]["loss"] in ("NaN", "nan")
    assert path.stat().st_mtime_ns == before
    from ckptgit import index
    from ckptgit.git import Git

    [ckpt] = index.load(Git.discover(repo.path))
    assert math.isnan(ckpt.metrics["loss"])


def test_a_save_after_a_list_extends_the_index_in_place(repo: Repo) -> None:
    first = _saves(repo, 1)
    _ids(repo)
    second = _saves(repo, 1, seed=9)
    data = _load(_index(repo))  # written by the save, not by a list
    assert data["head"] == repo.git("rev-parse", "HEAD").strip()
    assert data["columns"]["id"] == [second[0]["id"], first[0]["id"]]
    assert _ids(repo) == [second[0]["id"], first[0]["id"]]


def _forge(repo: Repo, genuine: dict[str, Any]) -> str:
    """A commit that edits a sidecar and copies a genuine save's id trailer."""
    side = repo.path / f"{MODEL}.ckpt.yaml"
    side.write_text(side.read_text().replace("created_at:", "labels: [forged]\ncreated_at:"))
    repo.git("commit", "-qam", f"ckpt: save clf\n\nCkpt-Id: {genuine['id']}\nCkpt-Name: clf")
    return repo.git("rev-parse", "HEAD").strip()


def test_an_id_reused_after_the_index_was_built_is_a_forgery(repo: Repo) -> None:
    saved = _saves(repo, 2)
    _ids(repo)  # the index is current at the genuine saves
    forged = _forge(repo, saved[1])  # its sidecar is the newest save's
    listed = repo.ckpt_ok("list", "--json").json()  # caught up from the cached index
    assert [c["id"] for c in listed] == [saved[1]["id"], saved[0]["id"]]
    assert all(c["commit"] != forged for c in listed)
    shown = repo.ckpt_ok("show", saved[1]["id"][:10], "--json").json()
    assert shown["commit"] == saved[1]["commit"]
    from ckptgit import index
    from ckptgit.git import Git

    caught_up = [(f.commit, f.id) for f in index.forgeries(Git.discover(repo.path))]
    _index(repo).unlink()
    cold = [(f.commit, f.id) for f in index.forgeries(Git.discover(repo.path))]
    assert caught_up == cold == [(forged, saved[1]["id"])]


def test_rows_are_built_only_when_read(repo: Repo) -> None:
    saved = _saves(repo, 3)
    from ckptgit import refs
    from ckptgit.git import Git
    from ckptgit.index import saves as load_saves

    saves = load_saves(Git.discover(repo.path))
    git = Git.discover(repo.path)
    assert refs.resolve(git, "clf~2", saves).id == saved[0]["id"]
    assert refs.resolve(git, saved[1]["id"][:8], saves).id == saved[1]["id"]
    assert sorted(saves._rows) == [1, 2]  # noqa: SLF001 - what was built, and nothing else
    assert saves[0] is saves[0] and saves[-1].id == saved[0]["id"]
    assert [c.id for c in saves] == [s["id"] for s in reversed(saved)]
    with pytest.raises(IndexError):
        saves[3]


def test_the_cold_rebuild_parses_on_every_core_with_the_same_answer(
        repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    saved = _saves(repo, 3, "clf", 0, "--metric", "acc=0.75")
    side = repo.path / f"{MODEL}.ckpt.yaml"
    side.write_text("a: &x [1]\nb: *x\n")  # an alias: refused by the bounded loader
    repo.git("commit", "--no-verify", "-qam",  # as a hostile clone may push it
             f"ckpt: save clf\n\nCkpt-Id: {'f' * 32}\nCkpt-Name: clf")
    from ckptgit import index, sidecar
    from ckptgit.git import Git

    serial = [c.to_dict() for c in index.load(Git.discover(repo.path))]
    _index(repo).unlink()
    monkeypatch.setattr(sidecar, "PARALLEL_FROM", 1)
    index._READ.clear()  # noqa: SLF001
    parallel = [c.to_dict() for c in index.load(Git.discover(repo.path))]
    assert parallel == serial
    assert [c["id"] for c in parallel] == [s["id"] for s in reversed(saved)]
    assert parallel[0]["metrics"] == {"acc": 0.75}


def test_concurrent_readers_and_a_save_leave_one_valid_index(repo: Repo) -> None:
    saved = _saves(repo, 3)
    _index(repo).unlink()
    cmd = [sys.executable, "-m", "ckptgit", "list", "--json"]
    procs = [subprocess.Popen(cmd, cwd=repo.path, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for _ in range(4)]
    more = _saves(repo, 1, seed=7)
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        ids = [c["id"] for c in json.loads(out)]
        assert ids[-3:] == [s["id"] for s in reversed(saved)]
    expected = [more[0]["id"], *[s["id"] for s in reversed(saved)]]
    assert _ids(repo) == expected
    assert _load(_index(repo))["columns"]["id"] == expected


def test_listed_documents_are_the_checkpoints_dicts(repo: Repo) -> None:
    _saves(repo, 2, "clf", 0, "--metric", "acc=0.5", "--param", "lr=0.1")
    _saves(repo, 1, "other", 5, "--label", "best")
    from ckptgit.ops.list import listed, listing
    from ckptgit.repo import Repo as CkptRepo

    opened = CkptRepo.open(repo.path)
    assert listed(opened).documents() == [c.to_dict() for c in listing(opened)]
    assert [d["name"] for d in listed(opened, "clf", 1).documents()] == ["clf"]


def test_the_fast_writer_never_turns_a_nan_into_null() -> None:
    from ckptgit import indexfile

    for metrics in ([{"loss": float("nan")}], [{"loss": float("inf")}], [{"acc": 0.5}],
                    [{"x": None}], [{"n": 2 ** 70}], [{"a": "\u2028\\\""}]):
        raw = indexfile.encode("0" * 40, {"metrics": metrics}, [], ("metrics",))
        line, _, body = raw.partition(b"\n")
        at, size, _ = json.loads(line)["sections"]["metrics"]
        back = json.loads(body[at:at + size])
        assert json.dumps(back) == json.dumps(metrics)


def test_a_row_is_read_from_one_cell_of_each_column(tmp_path: Path) -> None:
    """Strings that need escaping, non-ASCII, NaN, big integers: each cell read alone is
    what its whole column says."""
    import math

    from ckptgit import indexfile

    columns = {"s": ["plain", 'q"uote', "back\\slash", "\u00e9\u2028", "", "tab\there"],
               "m": [{"x": float("nan")}, None, {}, {"a": [1, 2]}, None, 1.5],
               "n": [2 ** 70, None, 0, -1, 2 ** 63, 1e300],
               "flat": [{"a": 1}, {}, {"b": 0.5, "c": "x"}, {}, {"d": True}, {"e": -1}],
               "braces": [{}, {"a": 1}, {"s": "},{"}, {"x": {"y": 2}}, {}, {"k": [1]}]}
    path = tmp_path / "index"
    path.write_bytes(indexfile.encode("0" * 40, columns, [], tuple(columns)))
    with path.open("rb") as fh:
        found = indexfile.layout(fh, tuple(columns))
        assert found is not None and found.count == 6
        for field, col in columns.items():
            whole = found.column(field)
            for i, value in enumerate(col):
                ok, cell = found.cell(field, i)
                assert ok and repr(cell) == repr(whole[i])
                assert repr(cell) == repr(value) or cell == float(value)  # orjson: past 64 bits
        assert math.isnan(found.cell("m", 0)[1]["x"])
        assert found.cell("s", 6) == (False, None) and found.cell("s", -1) == (False, None)


def test_a_sound_index_is_read_and_never_rebuilt(repo: Repo) -> None:
    """Cells holding null (no step, no parent) are cells, not damage: showing the first save
    reads the file and leaves it as it was."""
    saved = _saves(repo, 2)
    _ids(repo)
    path = _index(repo)
    before = path.stat().st_mtime_ns
    res = repo.ckpt_ok("show", "clf~1", "--json")
    assert res.json()["id"] == saved[0]["id"] and res.json()["parent"] is None
    assert "damaged" not in res.err and path.stat().st_mtime_ns == before


def test_a_row_added_in_front_gives_the_file_a_whole_write_gives(tmp_path: Path) -> None:
    """``prepend`` (a save extending the index) copies the old columns as bytes; the result
    is byte for byte the file written whole, and reads back cell by cell."""
    from ckptgit import indexfile

    columns = {"s": ["new", "plain", 'q"uote', "\u00e9"], "n": [None, 1, 2 ** 40, None],
               "m": [{"a": 1.5}, {}, {"b": [1]}, {"c": "},{"}], "l": [["x"], [], [], ["y"]]}
    fields = tuple(columns)
    forged = [{"commit": "c", "id": "i", "name": "n", "reason": "r"}]
    whole = indexfile.encode("1" * 40, columns, forged, fields)
    path = tmp_path / "index"
    path.write_bytes(indexfile.encode("0" * 40, {f: c[1:] for f, c in columns.items()}, [],
                                      fields))
    with path.open("rb") as fh:
        found = indexfile.layout(fh, fields)
        assert found is not None
        added = indexfile.prepend(found, "1" * 40, {f: c[:1] for f, c in columns.items()},
                                  forged, fields)
    assert added == whole
    path.write_bytes(added)
    with path.open("rb") as fh:  # a HEAD moved on without a save: only the header changes
        found = indexfile.layout(fh, fields)
        assert found is not None
        moved = indexfile.prepend(found, "2" * 40, {f: [] for f in fields}, forged, fields)
    assert moved == indexfile.encode("2" * 40, columns, forged, fields)
    with path.open("rb") as fh:
        again = indexfile.layout(fh, fields)
        assert again is not None and again.count == 4
        assert [again.cell("s", i) for i in range(4)] == [(True, v) for v in columns["s"]]
        assert again.column("m") == columns["m"]


def test_an_integer_past_64_bits_reads_back_exactly(repo: Repo) -> None:
    """orjson reads such an integer back as a float: ``list`` and ``rank`` would round what
    ``show`` prints. The column is marked in the header and read by the standard library,
    through a full write and through a row added in front."""
    big = 2**70 + 1
    _saves(repo, 1, "clf", 0, "--metric", f"tokens={big}")
    [row] = repo.ckpt_ok("list", "--json").json()
    assert row["metrics"]["tokens"] == big
    assert json.loads(_index(repo).read_bytes().partition(b"\n")[0])["exact"] == ["metrics"]
    _saves(repo, 1, "clf", 1, "--metric", "tokens=5")
    rows = repo.ckpt_ok("list", "--json").json()
    assert [r["metrics"]["tokens"] for r in rows] == [5, big]
    assert repo.ckpt_ok("show", "clf~1", "--json").json()["metrics"]["tokens"] == big
