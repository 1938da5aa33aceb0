"""Output helpers shared by the commands: JSON, progress bars, tables."""

from __future__ import annotations

import itertools
import json
import math
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")


def emit_json(data: Any, floats: bool = True) -> None:
    """Strict JSON: a NaN or infinity (from a record in history) is written as a string.

    The standard library indents in pure Python (0.2 s for 10,000 history events), so orjson
    writes it when that gives the same document (up to how a float's exponent is spelled:
    ``1e-7`` for ``1e-07``): ASCII only (anything else is escaped as before, so no raw C1
    control or line separator reaches a terminal) and no ``null`` that stands for a NaN
    (orjson writes those as null). Looking for one costs more than writing (90 ms for 10,000
    history events), so callers whose values are never floats (tag events: strings, integers,
    booleans, None) pass ``floats=False``.
    """
    click.echo(json_text(data, floats))


def json_text(data: Any, floats: bool = True) -> str:
    """The document ``emit_json`` prints, for commands that write it elsewhere too."""
    fast = _orjson(data, floats)
    if fast is not None:
        return fast
    try:
        return json.dumps(data, indent=2, sort_keys=False, default=str, allow_nan=False)
    except ValueError:
        return json.dumps(_finite(data), indent=2, sort_keys=False, default=str)


def _orjson(data: Any, floats: bool = True) -> str | None:
    import orjson

    opts = (orjson.OPT_INDENT_2 | orjson.OPT_PASSTHROUGH_SUBCLASS
            | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME)
    try:
        raw = orjson.dumps(data, default=_as_stdlib, option=opts)
    except (orjson.JSONEncodeError, TypeError, ValueError):
        return None  # a key that is not a string, an int over 64 bits, deep nesting …
    if not raw.isascii() or (floats and b"null" in raw and not _all_finite(data)):
        return None
    return raw.decode("ascii")


def may_hide_nan(values: Any) -> bool:
    """Whether orjson's form of ``values`` may hold a NaN written as ``null`` (it holds a
    null, or orjson cannot write it): one C pass instead of a walk of every value."""
    import orjson

    try:
        return b"null" in orjson.dumps(values, option=orjson.OPT_PASSTHROUGH_SUBCLASS)
    except (orjson.JSONEncodeError, TypeError, ValueError):
        return True


def _as_stdlib(value: Any) -> Any:
    """What ``json.dumps(default=str)`` makes of a value orjson hands back."""
    for kind in (bool, int, float, str):
        if isinstance(value, kind):
            return kind(value) if kind is not str else str.__str__(value)
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, list | tuple):
        return list(value)
    return str(value)


def _all_finite(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float):
            if not math.isfinite(item):
                return False
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return True


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


@contextmanager
def progress(label: str, total: int, quiet: bool = False,
             then: str | None = None) -> Iterator[Callable[[int], None] | None]:
    """A rich progress bar on a terminal for long work; nothing when piped or small.

    Sizes and speeds are binary (KiB, MiB, GiB), as every result line prints them. ``then``
    names work that follows the counted bytes and reports no progress of its own (a push to
    the DVC remote): when the count is complete the bar turns into a moving one with that
    label, so it never sits frozen at 100 %.
    """
    if quiet or total < (64 << 20) or not sys.stderr.isatty():
        yield None
        return
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(TextColumn("{task.description}"), BarColumn(),
                   DownloadColumn(binary_units=True), _speed_column(), TimeRemainingColumn(),
                   transient=True, console=_stderr_console())
    with bar:
        task = bar.add_task(label, total=total)
        done = [0]

        def advance(n: int) -> None:
            bar.advance(task, n)
            done[0] += n
            if then is not None and done[0] >= total and len(bar.tasks) == 1:
                bar.update(task, visible=False)
                bar.add_task(then, total=None)  # pulses until the work ends

        yield advance


def _speed_column() -> Any:
    """rich's transfer speed, in binary units (its own column prints decimal MB/s)."""
    from rich.progress import ProgressColumn
    from rich.text import Text

    class BinarySpeed(ProgressColumn):
        def render(self, task: Any) -> Text:
            speed = task.finished_speed or task.speed
            shown = f"{human_size(int(speed))}/s" if speed else "?"
            return Text(shown, style="progress.data.speed")

    return BinarySpeed()


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


def table(columns: list[str], rows: list[list[str]], title: str | None = None) -> None:
    """Aligned plain-text columns, like ``git branch -v``: greppable, and fast at any length.

    (rich's Table took 4 s to lay out 10,000 rows; this takes milliseconds.)
    """
    if all(len(row) == len(columns) for row in rows):  # columnwise, at C speed
        table_columns(columns, [list(col) for col in zip(*rows, strict=True)]
                      if rows else [[] for _ in columns], title)
        return
    cells = [[_one_line(c) for c in row] for row in rows]  # one line per row
    widths = [len(c) for c in columns]
    for row in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=False)]
    lines = [title] if title else []
    for row in [columns, ["-" * w for w in widths], *cells]:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)).rstrip())
    click.echo("\n".join(lines))


def table_columns(columns: list[str], cols: list[list[Any]], title: str | None = None) -> None:
    """``table`` given column by column (equal lengths): every step maps a C function over a
    column, so 100,000 rows take a fraction of a second."""
    cells = [_one_line_column(col) for col in cols]
    widths = [max(len(h), max(map(len, col), default=0)) for h, col in zip(columns, cells,
                                                                          strict=True)]
    padded = [list(map(str.ljust, [h, "-" * w, *col], itertools.repeat(w)))
              for h, col, w in zip(columns, cells, widths, strict=True)]
    lines = map(str.rstrip, map("  ".join, zip(*padded, strict=True)))
    click.echo("\n".join([title, *lines] if title else lines))


def _one_line_column(values: list[Any]) -> list[str]:
    """``_one_line`` of every cell. A column whose cells hold no newline, are printable, hold
    no double space and no space at either end is already the answer, which one look at
    the joined column tells (newlines joining it keep each cell's ends apart)."""
    col = [v if type(v) is str else str(v) for v in values]
    joined = "\n".join(col)
    if (joined.count("\n") == len(col) - 1 and joined.replace("\n", "").isprintable()
            and "  " not in joined and " \n" not in joined and "\n " not in joined
            and joined[:1] != " " and joined[-1:] != " "):
        return col
    return [_one_line(v) for v in col]


def _one_line(value: Any) -> str:
    """``" ".join(text.split())``: every run of whitespace (newlines, tabs, U+2028 …) one
    space, none at the ends. Text that is printable holds no whitespace but the ASCII space,
    so when that has no run and no end space it is already the answer (most cells)."""
    text = str(value)
    if text.isprintable() and "  " not in text and text[:1] != " " and text[-1:] != " ":
        return text
    return " ".join(text.split())


def fmt_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def manifest_line(manifest: str | None, commit: str | None, superseded_by: str | None) -> str:
    """What a stage action says of its deployment manifest."""
    if superseded_by:
        return (f"{manifest} left to {superseded_by}: a newer event of this stage was "
                "tagged while this one ran, and its manifest stands")
    return f"{manifest} updated in commit {(commit or '')[:12]}"
