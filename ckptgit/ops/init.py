"""``git ckpt init``: DVC, the default remote, ``.ckpt/`` and the hooks, in one commit."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ckptgit import storage
from ckptgit.config import CONFIG_PATH
from ckptgit.errors import UsageError
from ckptgit.git import Git
from ckptgit.governance import pushset
from ckptgit.ops import hooks
from ckptgit.resources import template

SIGNERS_PATH = ".ckpt/allowed_signers"
_SHARED = (".dvc/config", ".dvc/.gitignore", ".dvcignore", CONFIG_PATH, SIGNERS_PATH)
_SIGNERS_HEADER = (
    "# Who may sign promotions and reverts: one line per key, in ssh-keygen's allowed signers\n"
    "# format; namespaces git (tags) and ckpt-approval (signed approvals of requests), e.g.\n"
    "#   alice@example.com namespaces=\"git,ckpt-approval\" ssh-ed25519 AAAA...\n"
)


@dataclass
class InitResult:
    root: Path
    remote: str
    commit: str | None
    created: list[str] = field(default_factory=list)
    hooks: list[str] = field(default_factory=list)
    local_remote: bool = False  # the DVC remote is a directory only this machine reaches


def init(path: str = ".", remote: str | None = None, force_hooks: bool = False,
         ci: str | None = None) -> InitResult:
    git = Git.discover(path)
    root = git.root
    created: list[str] = []
    if not storage.is_initialized(root):
        storage.init(root)
        created.append(".dvc/")
    remote_url = storage.configure(root, remote, git.ckpt_dir / "dvc-remote")
    storage.configure_local(root, git.ckpt_dir / "dvc-site-cache")
    for rel, text in ((CONFIG_PATH, template("config.yaml")), (SIGNERS_PATH, _SIGNERS_HEADER)):
        dest = root / rel
        if not dest.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(text)
            created.append(rel)
    installed = hooks.install(git, force=force_hooks)
    ci_files: list[str] = []
    if ci:
        from ckptgit.ops import ci as ci_templates

        ci_files = ci_templates.install(root, ci)
        created += ci_files
    commit = _commit_shared(git, ci_files)
    return InitResult(root, remote_url, commit, created, installed,
                      pushset.is_local_url(remote_url))


def _commit_shared(git: Git, extra: list[str] | None = None) -> str | None:
    """Commit the shared set-up files that differ from HEAD, and nothing else."""
    head = git.head()
    files = {}
    for rel in (*_SHARED, *(extra or ())):
        path = git.root / rel
        if not path.is_file():
            continue
        data = path.read_bytes()
        if head is None or git.show_file(head, rel) != data:
            files[rel] = data
    if not files:
        return None
    message = "ckpt: init checkpoint tracking\n\nSet up DVC storage and .ckpt/ configuration.\n"
    commit, blobs = git.commit_files(head, files, message)
    if not git.update_ref(git.head_ref(), commit, head, "ckpt: init"):
        raise UsageError("HEAD moved while 'git ckpt init' ran; run it again")
    git.stage_blobs(blobs)
    return commit
