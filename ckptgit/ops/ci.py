"""CI templates for the pull-request flow, installed by ``git ckpt init --ci github|gitlab``.

Each template is copied once, never over a file the team already has (a rerun leaves their
edits alone): PR template, a CODEOWNERS example, and the workflows that review requests,
promote merged ones and verify pushed tags (docs/pull-requests.md).
"""

from __future__ import annotations

from pathlib import Path

from ckptgit.errors import UsageError
from ckptgit.resources import resource_dir

# template (under templates/KIND/) -> where it goes in the repository
LAYOUT = {
    "github": {
        "pull_request_template.md": ".github/pull_request_template.md",
        "CODEOWNERS.example": ".github/CODEOWNERS.example",
        "workflows/ckpt-review.yml": ".github/workflows/ckpt-review.yml",
        "workflows/ckpt-promote.yml": ".github/workflows/ckpt-promote.yml",
        "workflows/ckpt-verify.yml": ".github/workflows/ckpt-verify.yml",
    },
    "gitlab": {
        "ckpt.gitlab-ci.yml": ".gitlab/ckpt.gitlab-ci.yml",
        "merge_request_template.md": ".gitlab/merge_request_templates/ckpt-promotion.md",
        "CODEOWNERS.example": ".gitlab/CODEOWNERS.example",
    },
}


def install(root: Path, kind: str) -> list[str]:
    """Copy the templates of ``kind`` that are missing; the repository paths written."""
    if kind not in LAYOUT:
        raise UsageError(f"--ci must be one of {', '.join(LAYOUT)}, not {kind!r}")
    source = resource_dir("templates") / kind
    written = []
    for name, rel in LAYOUT[kind].items():
        dest = root / rel
        if dest.exists():
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes((source / name).read_bytes())
        written.append(rel)
    return written
