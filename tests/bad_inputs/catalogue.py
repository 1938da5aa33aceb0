"""A bad-input case and the one way every case is judged.

Each case: a setup that plants the hostile input (before the snapshot), the command, the exit
code STYLE.md gives it, a fragment of its one ``error:`` line; then no traceback, and the
snapshot (refs, index, work tree, DVC cache, remote, server) exactly as before.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

Setup = Callable[[Any], None]  # receives the case's Work


@dataclass(frozen=True)
class Case:
    id: str
    args: tuple[str, ...]
    code: int
    fragment: str
    setup: Setup | None = None
    # "error": one error line; "warning": a warning line (a reader that skipped a record);
    # "finding": a report (verify, audit) naming the fragment among its lines
    expect: str = "error"
    marks: tuple[Any, ...] = field(default=())

    def param(self) -> Any:
        return pytest.param(self, id=self.id, marks=self.marks)


def judge(work: Any, case: Case) -> str:
    if case.setup is not None:
        case.setup(work)
    before = work.snapshot()
    res = work.repo.ckpt(*case.args)
    shown = f"git ckpt {' '.join(case.args)[:200]} -> {res.code}: {res.err[:500]}"
    assert res.code == case.code, shown
    assert "Traceback" not in res.err + res.out, shown
    lines = [ln for ln in res.err.strip().splitlines() if ln]
    if case.expect == "warning":
        assert any(ln.startswith("warning: ") and case.fragment in ln for ln in lines), shown
    elif case.expect == "finding":
        assert case.fragment in res.out + res.err, shown
    else:
        assert len(lines) == 1 and lines[0].startswith("error: "), shown
        assert case.fragment in lines[0], shown
    after = work.snapshot()
    assert after == before, f"{shown}\nchanged: {before.changes(after)}"
    return res.err
