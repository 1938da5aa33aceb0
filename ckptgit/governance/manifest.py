"""Deployment manifests ``deploy/<stage>.yaml``: what each stage serves.

Promote and revert rewrite the stage's manifest in one commit on the current branch, so serving
configuration follows the tags. Keys a team adds by hand (``serving:`` — the runtime stack, and
``flags:`` per artifact — feature flags) are kept across updates.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ckptgit import faults, sidecar, workfiles
from ckptgit.atomic import write_atomic
from ckptgit.errors import ExternalError, UsageError
from ckptgit.git import Git

HEADER = ("# Written by 'git ckpt promote/revert/unassign': what this stage serves. The\n"
          "# 'serving' block and each artifact's 'flags' are yours to edit; the rest follows\n"
          "# the signed tags.\n")
ATTEMPTS = 5


def path_for(manifest_dir: str, stage: str) -> str:
    return f"{manifest_dir}/{stage}.yaml"


def read(git: Git, rev: str | None, rel: str) -> dict[str, Any]:
    raw = git.show_file(rev, rel) if rev else None
    if raw is None:
        return {}
    data = sidecar.parse_yaml(raw, rel) or {}
    if not isinstance(data, dict):
        raise UsageError(f"{rel} must be a mapping")
    return data


def serving_packages(doc: Mapping[str, Any]) -> dict[str, str]:
    serving = doc.get("serving") or {}
    packages = serving.get("packages") if isinstance(serving, dict) else None
    return {str(k): str(v) for k, v in (packages or {}).items()}


def updated(doc: dict[str, Any], stage: str, name: str,
            entry: dict[str, Any] | None) -> dict[str, Any]:
    """``doc`` with ``artifacts.NAME`` replaced by ``entry`` (keeping the user's flags), or
    removed when ``entry`` is None: the stage no longer serves NAME."""
    out = {"schema_version": 1, "stage": stage, **{k: v for k, v in doc.items()
                                                      if k not in ("schema_version", "stage")}}
    artifacts = dict(out.get("artifacts") or {})
    old = artifacts.get(name) or {}
    if entry is None:
        artifacts.pop(name, None)
    else:
        artifacts[name] = {**entry, "flags": old.get("flags") or {}}
    out["artifacts"] = artifacts
    return out


def commit(git: Git, rel: str, stage: str, name: str, entry: dict[str, Any] | None,
           subject: str, extra: Mapping[str, bytes] | None = None,
           stale: Callable[[], bool] | None = None) -> str | None:
    """Commit the stage's new manifest (and ``extra`` files) on the branch; returns the commit,
    or None when ``stale()`` says a newer event of this stage already decided the manifest.

    Built in a private index and published by compare-and-swap of the branch, like a save, so
    the user's staged work never leaks in; retried when a concurrent save moved the branch.
    ``stale`` is asked under the commit lock: an event tagged after ours writes its manifest
    after it too, so a promotion that lost the race can never overwrite the winner's.
    """
    for _ in range(ATTEMPTS):
        with workfiles.commit_lock(git):
            if stale is not None and stale():
                return None
            head = git.head()
            doc = updated(read(git, head, rel), stage, name, entry)
            files = {rel: (HEADER + sidecar.dump(doc)).encode(), **(extra or {})}
            new, blobs = git.commit_files(head, files, subject + "\n")
            faults.point("manifest-built")
            if git.update_ref(git.head_ref(), new, head, subject):
                faults.point("manifest-committed")
                _sync(git, files, blobs)
                return new
    raise ExternalError("the branch kept moving while the deployment manifest was written; "
                        f"the tag stands, rerun to write {rel}")


def _sync(git: Git, files: Mapping[str, bytes], blobs: Mapping[str, str]) -> None:
    """Index and work tree show the new manifest as committed (other paths untouched)."""
    git.stage_blobs(blobs)
    for rel, data in files.items():
        write_atomic(git.root / rel, data)
