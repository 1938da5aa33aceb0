"""Property tests: the parsers of untrusted text never crash, whatever they are given.

Each reader either returns a value or raises the one error type its callers handle (a
``CkptError`` with an exit code, or the parser's own documented "no"). The fast profile runs in
every ``make test``; ``test_fuzz_*`` (marked ``slow``) runs the same properties far longer.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import pytest
from conftest import Repo, make_repo
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ckptgit import limits, loader, sidecar, tags
from ckptgit.errors import CkptError

FAST = settings(max_examples=100, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
SLOW = settings(max_examples=5000, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

# JSON-like values, nested a few levels (what sidecars, metrics and params hold)
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=20)
# text that looks like YAML: its syntax characters (anchors, aliases, flow, tags) over-weighted
yamlish = st.text(alphabet=st.sampled_from(list("ab1 :-[]{},&*!|>'\"#\n\t%@`?.") + ["\u2028"]),
                  max_size=200)


# -- the sidecar loader and validator ---------------------------------------------------------
def _loads(raw: bytes | str) -> None:
    try:
        doc = sidecar.load(raw)
    except CkptError:
        return
    assert isinstance(doc, dict)
    sidecar.schema_errors(doc)  # a list of messages, never an exception


def _yaml_property(raw: bytes | str) -> None:
    _loads(raw)
    checked = sidecar.check(raw if isinstance(raw, bytes) else raw.encode("utf-8", "replace"))
    assert (checked.doc is None) == (checked.error is not None)


@FAST
@given(st.binary(max_size=400) | yamlish)
def test_sidecar_loader_never_crashes(raw: bytes | str) -> None:
    _yaml_property(raw)


@FAST
@given(st.dictionaries(st.text(max_size=8), values, max_size=6))
def test_sidecar_dump_then_load_is_identity(doc: dict[str, Any]) -> None:
    """What ckptgit writes, it reads back unchanged (no anchors are ever written)."""
    doc = {"schema_version": 1, **doc}
    text = sidecar.dump(doc)
    assert sidecar.load(text) == doc


@FAST
@given(st.integers(min_value=1, max_value=3000), st.sampled_from(["[", "{a: ", "- "]))
def test_nesting_is_refused_not_recursed(depth: int, opener: str) -> None:
    closer = {"[": "]", "{a: ": "}", "- ": ""}[opener]
    if opener == "- ":
        text = "".join("  " * i + "- " + ("\n" if i < depth - 1 else "1\n") for i in range(depth))
    else:
        text = opener * depth + "1" + closer * depth
    deep = depth > limits.DEFAULT.nesting_depth
    try:
        data = loader.load_yaml(text, "doc")
    except loader.LimitError:
        assert deep
    else:
        assert not deep and data is not None


@FAST
@given(st.binary(max_size=300) | st.text(max_size=300))
def test_json_loader_never_crashes(raw: bytes | str) -> None:
    try:
        loader.load_json(raw, "doc")
    except CkptError:
        pass


# -- the trailer parser and the tag-name parser -----------------------------------------------
@FAST
@given(st.text(max_size=400) | st.lists(st.text(max_size=30), max_size=8).map("\n".join))
def test_trailer_parser_never_crashes(body: str) -> None:
    from ckptgit.governance import trailers

    parsed = trailers.parse(body)
    for key, value in parsed.items:
        assert key and ":" not in key and "\n" not in value
    parsed.to_dict()


@FAST
@given(st.from_regex(r"[a-z0-9][a-z0-9._-]{0,20}", fullmatch=True),
       st.from_regex(r"[a-z0-9][a-z0-9_-]{0,10}", fullmatch=True),
       st.integers(min_value=0, max_value=10**18 - 1))
def test_tag_names_round_trip(name: str, stage: str, number: int) -> None:
    for made, kind in ((tags.assignment(name, stage, number), "assign"),
                       (tags.unassignment(name, stage, number), "unassign")):
        parsed = tags.parse(made)
        assert parsed is not None and (parsed.name, parsed.kind, parsed.stage,
                                       parsed.number) == (name, kind, stage, number)


# a git ref component is at most 255 bytes (a loose ref is a file): longer names cannot land
@FAST
@given(st.text(alphabet=st.sampled_from(list("ab1#@!v.-_~^:/ 9\n")), max_size=255)
       | st.text(max_size=255))
def test_tag_parser_never_crashes(tag: str) -> None:
    parsed = tags.parse(tag)
    assert parsed is None or parsed.name in tag
    tags.parse_lock(tag)


@FAST
@given(st.integers(min_value=19, max_value=6000), st.sampled_from(["1", "9", "\u0663"]))
def test_a_counter_too_long_is_not_a_counter(digits: int, digit: str) -> None:
    """Over 18 digits (or not ASCII digits) the tag is not one of ours: ``None``, never the
    ValueError ``int()`` raises past 4,300 digits."""
    counter = digit * digits
    for tag in (f"clf#prod#{counter}", f"clf#prod!#{counter}", f"clf@deprecated#{counter}"):
        assert tags.parse(tag) is None
    assert tags.parse_lock(f"ckpt/lock/prod/{counter}") is None
    assert tags.parse("clf#prod#" + "\u0663") is None  # an Arabic-Indic three


# -- the REF resolver -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def saved_repo(tmp_path_factory: pytest.TempPathFactory) -> Repo:
    import hermetic

    base = tmp_path_factory.mktemp("refs")
    hermetic.make_home(base)
    with pytest.MonkeyPatch.context() as mp:
        for key, value in hermetic.variables(base).items():
            mp.setenv(key, value)
        repo = make_repo(base)
        repo.model()
        repo.save()
    return repo


@FAST
@given(st.text(alphabet=st.sampled_from(list("clf~@#^:0123456789abcdef.-/ latestv")),
               max_size=40) | st.text(max_size=40))
def test_ref_resolver_never_crashes(saved_repo: Repo, ref: str) -> None:
    from ckptgit.repo import Repo as CkptRepo

    repo = CkptRepo.open(saved_repo.path)
    try:
        found = repo.resolve(ref)
    except CkptError:
        return
    assert found.name == "clf"


# -- the safetensors header reader ------------------------------------------------------------
def _header_file(tmp: Path, claimed: int | None, body: bytes) -> Path:
    path = tmp / "m.safetensors"
    length = len(body) if claimed is None else claimed
    path.write_bytes(struct.pack("<Q", length) + body)
    return path


headers = st.dictionaries(
    st.text(max_size=6),
    st.fixed_dictionaries({"dtype": st.sampled_from(["F32", "F16", "I64", "X"]) | st.text(),
                           "shape": st.lists(st.integers(-5, 10**12), max_size=3) | values,
                           "data_offsets": st.lists(st.integers(-10, 10**19), max_size=3)
                           | values}) | values, max_size=4)


def _read_both(path: Path) -> None:
    from ckptgit.capture import tensors
    from ckptgit.compare import weights

    try:
        tensors.summarize(path, 1 << 20)
    except tensors.HeaderError:
        pass
    try:
        entries = weights.read_header(path, 1 << 20)
    except CkptError:
        return
    size = path.stat().st_size
    for entry in entries.values():  # offsets validated before any use
        assert 8 <= entry.start <= entry.end <= size


@FAST
@given(st.integers(min_value=0, max_value=2**64 - 1) | st.none(), st.binary(max_size=300))
def test_header_reader_on_arbitrary_bytes(tmp_path: Path, claimed: int | None,
                                          body: bytes) -> None:
    _read_both(_header_file(tmp_path, claimed, body))


@FAST
@given(headers, st.binary(max_size=64))
def test_header_reader_on_hostile_json(tmp_path: Path, header: dict[str, Any],
                                       data: bytes) -> None:
    body = json.dumps(header).encode()
    _read_both(_header_file(tmp_path, None, body + data))


# -- the bounded fuzz run: the same properties, thousands of examples ---------------------------
@pytest.mark.slow
@SLOW
@given(st.binary(max_size=2000) | yamlish)
def test_fuzz_sidecar_loader(raw: bytes | str) -> None:
    _yaml_property(raw)


@pytest.mark.slow
@SLOW
@given(st.integers(min_value=0, max_value=2**64 - 1) | st.none(), st.binary(max_size=2000))
def test_fuzz_header_reader(tmp_path: Path, claimed: int | None, body: bytes) -> None:
    _read_both(_header_file(tmp_path, claimed, body))


@pytest.mark.slow
@SLOW
@given(st.text(max_size=2000))
def test_fuzz_trailers_and_tags(text: str) -> None:
    from ckptgit.governance import trailers

    trailers.parse(text)
    tags.parse(text[:255])
