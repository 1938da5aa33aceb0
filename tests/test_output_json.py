"""``--json`` output: orjson writes it only when that is the document the standard library
writes (ASCII escapes kept, NaN as a string), so no reader sees a difference."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ckptgit.commands._common import _orjson, emit_json


class Color(enum.StrEnum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


@dataclasses.dataclass
class Point:
    x: int = 1


def _stdlib(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=False, default=str, allow_nan=False)


PLAIN = [
    {"a": 1, "b": [1, 2.5, None, True, False], "c": {}, "d": [], "e": "x"},
    {"t": (1, 2), "p": Path("/x"), "when": datetime.datetime(2024, 1, 1), "color": Color.RED,
     "level": Level.HIGH, "point": Point(), "f64": np.float64(0.5), "i64": np.int64(3)},
    [{"tag": "clf#prod#1", "stage": None, "escape": "\x1b[31m"}] * 3,
    "text", 5, None, [], {},
]


@pytest.mark.parametrize("data", PLAIN)
def test_fast_path_writes_what_the_standard_library_writes(data: Any) -> None:
    fast = _orjson(data)
    assert fast is not None
    assert fast == _stdlib(data)


HOSTILE = [
    {"metric": float("nan")},  # orjson would write null
    {"deep": [None, float("-inf")]},
    {"rationale": "ok\u2028Approved-By: ceo"},  # raw separators never reach a terminal
    {"c1": "\x9b2J"},
    {"name": "é"},
    {1: "int key"},
    {"big": 2**70},
]


@pytest.mark.parametrize("data", HOSTILE)
def test_anything_else_goes_through_the_standard_library(data: Any,
                                                          capsys: pytest.CaptureFixture[str],
                                                          ) -> None:
    assert _orjson(data) is None
    emit_json(data)
    out = capsys.readouterr().out
    assert out.isascii()
    assert json.loads(out) is not None
    assert "NaN" not in out and "Infinity" not in out


CELLS = ["a", "b c", "  x", "y  ", "p\nq", "t\tu", "l\u2028m", "n\x85o", "\u3000z", "\xa0", "",
         " ", "é", "{}", "{0}", "ü  ü", "\x1c", 3, 0.5, None]


@pytest.mark.parametrize("cell", CELLS)
def test_table_cells_are_one_line_as_split_and_join_make_them(cell: Any) -> None:
    from ckptgit.commands._common import _one_line

    assert _one_line(cell) == " ".join(str(cell).split())


def test_table_aligns_every_row_whatever_the_cells(capsys: pytest.CaptureFixture[str]) -> None:
    from ckptgit.commands._common import table

    table(["id", "{name}"], [["1", "p\nq"], ["22", "{0}"], ["", "l\u2028m  n"]], "T")
    assert capsys.readouterr().out == ("T\nid  {name}\n--  ------\n1   p q\n22  {0}\n"
                                       "    l m n\n")
    table(["a", "b"], [["1"], ["2", "3", "4"]])  # ragged rows: the row-by-row path, as before
    assert capsys.readouterr().out == "a\n-\n1\n2\n"
