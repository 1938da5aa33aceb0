"""Fixtures for governance tests: real SSH signing keys, signer files, bare remotes.

Keys are made with ``ssh-keygen`` in the test: ``alice`` (allowed for every stage), ``bob``
(allowed for dev and staging only), ``carol`` (listed: an approver), ``mallory`` (foreign: in
no signers file) and ``rob`` (listed, but revoked). Every listed key may sign tags and
approvals (namespaces git and ckpt-approval).
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conftest import Repo, git

CONFIG = """\
version: 1
push: auto
stages:
  - dev
  - staging:
      requires_previous: true
      signers: [alice@example.com, bob@example.com]
  - canary:
      approvals: 1
      requires_previous: true
      signers: [alice@example.com]
  - production:
      approvals: 2
      requires_previous: true
      protected: true
      signers: [alice@example.com]
governance:
  max_weight_bytes: 4096
  tag_date_window: 600
  protected_branches: [main]
"""


@dataclass(frozen=True)
class Keys:
    dir: Path

    def pub(self, who: str) -> Path:
        return self.dir / f"{who}.pub"

    def line(self, who: str) -> str:
        return (f'{who}@example.com namespaces="git,ckpt-approval" '
                f"{self.pub(who).read_text().strip()}\n")


def make_keys(base: Path) -> Keys:
    d = base / "keys"
    d.mkdir()
    for who in ("alice", "bob", "carol", "mallory", "rob"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", who,
                        "-f", str(d / who)], check=True)
        os.rename(d / f"{who}", d / f"{who}.key")
        os.rename(d / f"{who}.pub", d / f"{who}.pub")
    return Keys(d)


def use_key(path: Path, keys: Keys, who: str) -> None:
    """Sign as ``who``: git's own SSH signing configuration, as a user would set it."""
    git(path, "config", "gpg.format", "ssh")
    git(path, "config", "user.signingkey", str(keys.dir / f"{who}.key"))
    git(path, "config", "user.email", f"{who}@example.com")


def govern(repo: Repo, keys: Keys, config: str = CONFIG) -> None:
    """Stage rules, signers (alice, bob, rob) and revocations (rob), committed; sign as alice."""
    ckpt = repo.path / ".ckpt"
    (ckpt / "config.yaml").write_text(config)
    (ckpt / "allowed_signers").write_text(keys.line("alice") + keys.line("bob")
                                          + keys.line("carol") + keys.line("rob"))
    (ckpt / "revoked_signers").write_text(keys.pub("rob").read_text())
    repo.git("add", ".ckpt")
    repo.git("commit", "-q", "-m", "governance rules and signers")
    use_key(repo.path, keys, "alice")


def tag_body(path: Path, tag: str) -> str:
    return git(path, "tag", "-l", "--format=%(contents:body)", tag)


def raw_tag(path: Path, name: str, commit: str, message: str, *, sign: bool = True,
            date: str | None = None) -> subprocess.CompletedProcess[str]:
    """A tag made by hand with plain git (what a careless or hostile pusher would do)."""
    env = dict(os.environ)
    if date:
        env["GIT_COMMITTER_DATE"] = date
    args = ["git", "tag", "-s" if sign else "-a", "-F", "-", name, commit]
    return subprocess.run(args, cwd=path, input=message, text=True, capture_output=True,
                          env=env, check=False)


def promote_message(ckpt_id: str, stage: str, rationale: str | None = "ok",
                    approvers: tuple[str, ...] = ()) -> str:
    lines = ["Ckpt-Action: promote", f"Ckpt-Id: {ckpt_id}", f"Ckpt-Stage: {stage}"]
    if rationale is not None:
        lines.append(f"Rationale: {rationale}")
    lines += [f"Approved-By: {a}" for a in approvers]
    return "promote by hand\n\n" + "\n".join(lines) + "\n"


def bare_remote(repo: Repo, base: Path, name: str = "server.git") -> Path:
    """A bare repository guarded by our pre-receive with a trusted copy of the rules."""
    bare = base / name
    git(base, "init", "-q", "--bare", str(bare))
    done = repo.run_git_ckpt("hooks", "install", "--server", str(bare))
    assert done.returncode == 0, done.stderr
    repo.git("remote", "add", "origin", str(bare))
    return bare


def push(repo: Repo, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "push", "origin", *args], cwd=repo.path, capture_output=True,
                          text=True, check=False)


def merged_request(repo: Repo, keys: Keys, *propose_args: str,
                   approvers: tuple[str, ...] = ("bob", "carol")) -> str:
    """A request proposed (with the configured key), approved with each approver's own key
    on its branch, merged into the branch checked out with --no-ff (and pushed when there is
    an origin); returns its id."""
    here = repo.git("branch", "--show-current").strip()
    out = repo.ckpt_ok("propose", *propose_args, "--json").json()
    repo.git("checkout", "-q", out["branch"])
    for who in approvers:
        repo.ckpt_ok("approve", "--key", str(keys.dir / f"{who}.key"))
    repo.git("checkout", "-q", here)
    repo.git("merge", "-q", "--no-ff", "-m", f"Merge {out['branch']}", out["branch"])
    if repo.git("remote").split():
        done = push(repo, here)
        assert done.returncode == 0, done.stderr
    return str(out["request"])


def signed(repo: Repo, keys: Keys, *propose_args: str,
           approvers: tuple[str, ...] = ("bob", "carol")) -> Any:
    """The whole reviewed flow: ``merged_request`` then ``promote --request`` (its Result)."""
    rid = merged_request(repo, keys, *propose_args, approvers=approvers)
    return repo.ckpt("promote", "--request", rid, "--json")
