"""The plain-text table: every cell on one line, columns aligned, whatever the cells hold."""

from __future__ import annotations

import pytest

from ckptgit.commands._common import table, table_columns

HOSTILE = ["plain", "two  spaces", " lead", "trail ", "new\nline", "tab\there", "sep\u2028x",
           "nel\x85y", "", "   ", "é ü", "bell\x07", 3, None, 0.5, "a \nb", "\n", "x\r"]


def _reference(columns: list[str], rows: list[list[object]]) -> str:
    """The table as its contract reads: each cell's whitespace runs made one space."""
    cells = [[" ".join(str(c).split()) for c in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(columns)]
    lines = [columns, ["-" * w for w in widths], *cells]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                     for r in lines) + "\n"


@pytest.mark.parametrize("picked", [HOSTILE, HOSTILE[:4], ["ok", "fine"], []])
def test_columns_and_rows_print_what_the_contract_says(picked: list[object],
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    rows = [[v, f"r{i}", str(v)[::-1]] for i, v in enumerate(picked)]
    columns = ["value", "row", "back"]
    table(columns, rows)
    by_rows = capsys.readouterr().out
    table_columns(columns, [list(c) for c in zip(*rows, strict=True)] or [[], [], []])
    by_columns = capsys.readouterr().out
    assert by_rows == by_columns == _reference(columns, rows)
    assert by_rows.count("\n") == len(rows) + 2
