"""Metadata coverage: a model tracked by DVC must be a checkpoint (have a sidecar).

A ``dvc add``-ed ``models/x.pt`` with no ``models/x.pt.ckpt.yaml`` has no seal, no lineage and
no record of how it was made; pre-commit and pre-receive refuse it, ``verify`` flags it, and
``git ckpt adopt PATH -n NAME`` turns it into a first checkpoint. Model files are recognised by
name (``coverage.patterns`` in ``.ckpt/config.yaml``; default below); a directory output counts
when its name matches or when its DVC listing, if cached, holds a matching file.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ckptgit.filenames import SIDECAR_SUFFIX
from ckptgit.git import Git

PATTERNS = ("*.safetensors", "*.pt", "*.pth", "*.ckpt", "*.gguf", "*.onnx")


def patterns(raw_config: Mapping[str, Any]) -> tuple[str, ...]:
    given = (raw_config.get("coverage") or {}).get("patterns")
    if isinstance(given, list) and all(isinstance(p, str) for p in given):
        return tuple(given)
    return PATTERNS


def is_model(path: str, members: Iterable[str], globs: Sequence[str]) -> bool:
    names = [path.rsplit("/", 1)[-1], *(m.rsplit("/", 1)[-1] for m in members)]
    return any(fnmatch.fnmatch(n.lower(), g) for n in names for g in globs)


def uncovered(files: Mapping[str, bytes | None], present: set[str], globs: Sequence[str],
              members: Mapping[str, list[str]] | None = None) -> list[str]:
    """Artifact paths of the ``.dvc`` files in ``files`` that are models without a sidecar in
    ``present`` (the paths of the tree or index being judged)."""
    out = []
    for dvcfile, raw in files.items():
        if raw is None or not dvcfile.endswith(".dvc"):
            continue
        artifact = dvcfile[: -len(".dvc")]
        if artifact + SIDECAR_SUFFIX in present:
            continue
        if is_model(artifact, (members or {}).get(dvcfile, []), globs):
            out.append(artifact)
    return sorted(out)


def message(path: str) -> str:
    return (f"{path} is a model tracked by DVC without a checkpoint sidecar (no seal, no "
            f"lineage): make it a checkpoint with 'git ckpt adopt {path} -n NAME'")


def in_tree(git: Git, rev: str, globs: Sequence[str]) -> list[str]:
    """Uncovered models in commit ``rev``'s tree."""
    listing = [p for p in git.out(["ls-tree", "-r", "-z", "--name-only", rev]).split("\0") if p]
    present = set(listing)
    dvcfiles = [p for p in listing if p.endswith(".dvc") and
                p[: -len(".dvc")] + SIDECAR_SUFFIX not in present]
    if not dvcfiles:
        return []
    blobs = git.cat_files([f"{rev}:{p}" for p in dvcfiles])
    return uncovered({p: blobs.get(f"{rev}:{p}") for p in dvcfiles}, present, globs)
