"""``git ckpt init``: DVC, the default remote, ``.ckpt/`` and the hooks, in one commit.

In a repository that uses the pre-commit framework the hooks go through it, exactly as
``git ckpt hooks install`` does (``ops/precommit.py``): our shims beside pre-commit's hook
would run the checks twice, or not at all when pre-commit's file is already there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ckptgit import storage
from ckptgit.config import CONFIG_PATH
from ckptgit.errors import CkptError, UsageError
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
    hooks_via: str = "shims"  # shims | pre-commit (the framework runs our hooks)
    notes: list[str] = field(default_factory=list)  # what the user still has to do


def init(path: str = ".", remote: str | None = None, force_hooks: bool = False,
         ci: str | None = None, framework: bool | None = None) -> InitResult:
    """``framework``: hooks through pre-commit (True), our shims (False), or whichever the
    repository uses (None)."""
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
    hooked = _hooks(git, force_hooks, framework)
    # plain 'git tag -v' and 'git log --show-signature' read the same keys (the work tree's
    # copy; 'git ckpt verify' judges against the trusted revision's). git runs from the top
    # of the work tree, so the relative path holds wherever the clone lives.
    git.run(["config", "gpg.ssh.allowedSignersFile", SIGNERS_PATH])
    ci_files: list[str] = []
    if ci:
        from ckptgit.ops import ci as ci_templates

        ci_files = ci_templates.install(root, ci)
        created += ci_files
    commit = _commit_shared(git, ci_files + hooked.commit)
    return InitResult(root, remote_url, commit, created, hooked.installed,
                      pushset.is_local_url(remote_url), hooked.via, hooked.notes)


@dataclass
class _Hooked:
    installed: list[str]
    via: str = "shims"
    commit: list[str] = field(default_factory=list)  # files for init's commit
    notes: list[str] = field(default_factory=list)


def _hooks(git: Git, force: bool, framework: bool | None) -> _Hooked:
    from ckptgit.ops import precommit

    if not (framework or (framework is None and precommit.detected(git))):
        return _Hooked(hooks.install(git, force=force))
    # pre-commit refuses to run while its config has unstaged changes: the config goes into
    # init's commit, unless the user has edits of their own in it (then they commit it)
    clean = _clean(git, precommit.CONFIG)
    try:
        done = precommit.install(git)
    except CkptError as exc:  # e.g. core.hooksPath set: the set-up goes on, with our shims
        note = (f"{exc}: installed ckptgit's own hooks instead; run 'git ckpt hooks install' "
                "once 'pre-commit install' works, so the checks run once")
        return _Hooked(hooks.install(git, force=force), "shims",
                       _if(clean, precommit.CONFIG), [note])
    out = _Hooked(list(hooks.CLIENT_HOOKS) if done.installed else [], "pre-commit",
                  _if(clean, precommit.CONFIG), [done.note] if done.note else [])
    if done.config_changed and not clean:
        out.notes.append(f"{precommit.CONFIG} had uncommitted edits, so init left it out of "
                         "its commit: commit it (pre-commit will not run while it is unstaged)")
    return out


def _if(clean: bool, rel: str) -> list[str]:
    return [rel] if clean else []


def _clean(git: Git, rel: str) -> bool:
    """The file is absent, or the work tree's copy is HEAD's (no edits of the user's)."""
    path = git.root / rel
    if not path.is_file():
        return True
    head = git.head()
    return head is not None and git.show_file(head, rel) == path.read_bytes()


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
