"""Hostile records pushed past the client's hooks (``--no-verify``) to a bare server guarded by
our ``pre-receive``: refused, and the server's refs stay exactly as they were."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import Repo
from governance_fixtures import bare_remote

from bad_inputs.conftest import one_checkpoint, prepared
from bad_inputs.test_readers import BOMB_DOC, DEEP, HUGE, _commit, _save_by_hand


def _served(repo: Repo, base: Path) -> Path:
    one_checkpoint(repo, base)
    bare = bare_remote(repo, base)
    done = subprocess.run(["git", "push", "-q", "origin", "main"], cwd=repo.path,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return bare


template = prepared(_served)


def _push(work: Any, *refspec: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "push", "--no-verify", "origin", *refspec], cwd=work.repo.path,
                          capture_output=True, text=True, check=False)


def _raise_own_limits(work: Any) -> None:
    """The pusher raises the limits in their own config: the server keeps its trusted copy."""
    cfg = work.repo.path / ".ckpt" / "config.yaml"
    cfg.write_text(cfg.read_text() + "limits:\n  sidecar_bytes: 100000000\n")
    _commit(work, {".ckpt/config.yaml": cfg.read_text()}, "raise the limits")


CASES = [
    ("alias-bomb", _save_by_hand(BOMB_DOC), ("main",), "alias"),
    ("deep", _save_by_hand(DEEP), ("main",), "nested deeper"),
    ("huge", _save_by_hand(HUGE), ("main",), "over the limit"),
    ("pointer-traversal", _save_by_hand(md5="../../../../etc/passwd"), ("main",), "not an md5"),
    ("new-branch", _save_by_hand(BOMB_DOC), ("HEAD:refs/heads/feature",), "alias"),
    ("by-sha", _save_by_hand(BOMB_DOC), ("HEAD:main",), "alias"),
    ("own-limits-raised", lambda w: (_raise_own_limits(w), _save_by_hand(HUGE)(w)), ("main",),
     "over the limit"),
]


@pytest.mark.parametrize(("setup", "refspec", "fragment"), [pytest.param(*c[1:], id=c[0])
                                                            for c in CASES])
def test_server_refuses_hostile_records(work: Any, setup: Any, refspec: tuple[str, ...],
                                        fragment: str) -> None:
    setup(work)
    before = work.snapshot()
    done = _push(work, *refspec)
    assert done.returncode != 0, done.stderr
    assert fragment in done.stderr and "refused" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert work.snapshot() == before


def test_a_tag_on_a_hostile_commit_is_refused(work: Any) -> None:
    _save_by_hand(BOMB_DOC)(work)
    work.repo.git("tag", "hostile")
    before = work.snapshot()
    done = _push(work, "refs/tags/hostile")
    assert done.returncode != 0 and "alias" in done.stderr, done.stderr
    assert work.snapshot() == before
