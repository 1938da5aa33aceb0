"""Output helpers shared by the commands: JSON, progress bars, tables."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=False, default=str))


@contextmanager
def progress(label: str, total: int, quiet: bool = False) -> Iterator[Callable[[int], None] | None]:
    """A rich progress bar on a terminal for long work; nothing when piped or small."""
    if quiet or total < (64 << 20) or not sys.stderr.isatty():
        yield None
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    bar = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                   TransferSpeedColumn(), TimeRemainingColumn(), transient=True,
                   console=_stderr_console())
    with bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


def table(columns: list[str], rows: list[list[str]], title: str | None = None) -> None:
    from rich.console import Console
    from rich.table import Table

    tab = Table(title=title, show_edge=False, header_style="bold", pad_edge=False)
    for col in columns:
        tab.add_column(col, overflow="fold")
    for row in rows:
        tab.add_row(*row)
    Console(soft_wrap=True).print(tab)


def fmt_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
