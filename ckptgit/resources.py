"""Files shipped with ckptgit: templates and hook shims.

A wheel carries them inside the package (``_resources/``); a source checkout has them at the
top level beside ``ckptgit/``.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def resource_dir(kind: str) -> Path:
    for candidate in (_PACKAGE / "_resources" / kind, _PACKAGE.parent / kind):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"ckptgit installation is missing its {kind}/ folder; reinstall it")


def template(name: str) -> str:
    return (resource_dir("templates") / name).read_text()
