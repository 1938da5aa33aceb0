"""The ONE hermetic environment for the suite and the benchmarks: own HOME and config dirs, a
fixed identity, no system git config, no DVC analytics, nothing inherited that steers git, DVC,
ckptgit or S3 clients. ``tests/conftest.py`` applies it per test; ``benchmarks/common.py`` per
sandbox (it imports this file from ``tests/``)."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

BIN = str(Path(sys.executable).parent)
DROPPED = ("GIT_", "DVC_", "CKPT_", "AWS_")  # inherited variables of these prefixes are removed


def variables(base: Path) -> dict[str, str]:
    """What to set for a sandbox rooted at ``base`` (HOME is ``base/home``)."""
    home = base / "home"
    return {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Ada Trainer",
        "GIT_AUTHOR_EMAIL": "ada@example.com",
        "GIT_COMMITTER_NAME": "Ada Trainer",
        "GIT_COMMITTER_EMAIL": "ada@example.com",
        "GIT_EDITOR": "false",
        "DVC_NO_ANALYTICS": "1",
        "DVC_SITE_CACHE_DIR": str(base / "dvc-site"),
        "DVC_GLOBAL_CONFIG_DIR": str(home / ".config" / "dvc"),
        "DVC_SYSTEM_CONFIG_DIR": str(base / "dvc-system"),
        "PATH": BIN + os.pathsep + os.environ.get("PATH", ""),
    }


def dropped(environ: Mapping[str, str]) -> list[str]:
    """The inherited variables to remove."""
    return [k for k in environ if k.startswith(DROPPED)]


def environment(base: Path, environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """A whole environment for subprocesses: ``environ`` scrubbed, then ``variables``."""
    gone = set(dropped(environ))
    return {**{k: v for k, v in environ.items() if k not in gone}, **variables(base)}


def make_home(base: Path) -> Path:
    home = base / "home"
    home.mkdir(parents=True, exist_ok=True)
    (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n")
    return home
