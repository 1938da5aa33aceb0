"""ckptgit: accountable ML checkpoints on git and DVC.

Python API (the CLI does the same work)::

    import ckptgit
    ckpt = ckptgit.save("models/clf.safetensors", name="clf", metrics={"acc": 0.91})
    doc = ckptgit.load("clf")                    # the sidecar of the latest 'clf'
    run = ckptgit.Tracker("clf", params={"lr": 3e-4}, seeds={"torch": 42})
    fut = run.save("models/clf.safetensors", metrics={"acc": 0.93}, background=True)
    fut.result()                                  # a Checkpoint

Imports are deferred so that ``import ckptgit`` stays cheap inside a training script.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ckptgit.errors import (
    CkptError,
    IntegrityError,
    PolicyError,
    RefError,
    RunPaused,
    UsageError,
)

if TYPE_CHECKING:
    from ckptgit.api import Tracker, load, save
    from ckptgit.model import Checkpoint
    from ckptgit.ops.diff import diff

__all__ = ["Checkpoint", "CkptError", "IntegrityError", "PolicyError", "RefError", "RunPaused",
           "Tracker",
           "UsageError", "diff", "load", "save"]
__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    if name in ("save", "load", "Tracker"):
        from ckptgit import api

        return getattr(api, name)
    if name == "diff":
        from ckptgit.ops.diff import diff

        return diff
    if name == "Checkpoint":
        from ckptgit.model import Checkpoint

        return Checkpoint
    raise AttributeError(f"module 'ckptgit' has no attribute {name!r}")
