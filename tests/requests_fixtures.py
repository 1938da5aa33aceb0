"""A team for promotion requests: a guarded bare server, clones with their own SSH keys.

``alice`` proposes (and is the production responder), ``bob``, ``carol`` and ``dave`` approve,
``mallory`` is a listed signer who may not approve production, and ``bot`` is the CI key that
makes the tags. Every allowed_signers line grants the ``ckpt-approval`` namespace beside git's.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from conftest import Repo, git, make_repo
from governance_fixtures import Keys, bare_remote, use_key

PEOPLE = ("alice", "bob", "carol", "dave", "mallory", "bot")
CONFIG = """\
version: 1
push: auto
stages:
  - dev
  - production:
      approvals: 2
      signers: [bot@example.com, alice@example.com]
      approvers: [alice@example.com, bob@example.com, carol@example.com, dave@example.com]
      responders: [alice@example.com]
      ratify_within: 1h
      gates:
        - metric: metrics.acc >= 0.5
governance:
  tag_date_window: 600
  protected_branches: [main]
"""


def make_team_keys(base: Path) -> Keys:
    d = base / "keys"
    d.mkdir()
    for who in PEOPLE:
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", who,
                        "-f", str(d / who)], check=True)
        os.rename(d / who, d / f"{who}.key")
    return Keys(d)


def signers_line(keys: Keys, who: str) -> str:
    return (f'{who}@example.com namespaces="git,ckpt-approval" '
            f"{keys.pub(who).read_text().strip()}\n")


@dataclass
class Team:
    base: Path
    keys: Keys
    origin: Repo  # where the checkpoints were saved (hooks installed)
    bare: Path
    v1: dict
    v2: dict

    def clone(self, name: str, who: str) -> Repo:
        path = self.base / name
        git(self.base, "clone", "-q", str(self.bare), str(path))
        use_key(path, self.keys, who)
        return Repo(path, self.origin.remote)


def make_team(base: Path, config: str = CONFIG) -> Team:
    keys = make_team_keys(base)
    repo = make_repo(base, "trainer")
    (repo.path / ".ckpt" / "config.yaml").write_text(config)
    (repo.path / ".ckpt" / "allowed_signers").write_text(
        "".join(signers_line(keys, w) for w in PEOPLE))
    repo.git("add", ".ckpt")
    repo.git("commit", "-q", "-m", "rules and signers")
    use_key(repo.path, keys, "alice")
    saved = []
    for seed, acc in ((1, 0.7), (2, 0.8)):
        repo.model(seed=seed)
        (repo.path / "metrics.json").write_text(f'{{"acc": {acc}}}')
        saved.append(repo.save("models/clf.safetensors", "clf", "--metrics", "metrics.json"))
    repo.ckpt_ok("promote", saved[0]["id"], "--stage", "dev", "--rationale", "baseline")
    bare = bare_remote(repo, base)
    done = subprocess.run(["git", "push", "-q", "origin", "main", "--tags"], cwd=repo.path,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return Team(base, keys, repo, bare, saved[0], saved[1])


def push(repo: Repo, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "push", "origin", *args], cwd=repo.path, capture_output=True,
                          text=True, check=False)


def pushed(repo: Repo, *args: str) -> None:
    done = push(repo, *args)
    assert done.returncode == 0, done.stderr


def propose(repo: Repo, ref: str, stage: str = "production", *extra: str) -> dict:
    return repo.ckpt_ok("propose", ref, "--stage", stage, "--rationale", "better acc",
                        "--json", *extra).json()


def approve_on(repo: Repo, branch: str, *args: str) -> None:
    """Check out the proposal branch, approve (or reject) with this clone's key, push."""
    repo.git("fetch", "-q", "origin")
    repo.git("checkout", "-q", "-B", branch, f"origin/{branch}")
    repo.ckpt_ok(*(args or ("approve", "--comment", "lgtm")))
    pushed(repo, f"HEAD:refs/heads/{branch}")


def merge(repo: Repo, branch: str, how: str = "--no-ff") -> None:
    """Merge the proposal into main as a host would (merge commit or squash), and push."""
    repo.git("fetch", "-q", "origin")
    repo.git("checkout", "-q", "-B", "main", "origin/main")
    if how == "--squash":
        repo.git("merge", "-q", "--squash", f"origin/{branch}")
        repo.git("commit", "-q", "-m", f"Squashed {branch}")
    else:
        repo.git("merge", "-q", how, "-m", f"Merge {branch}", f"origin/{branch}")
    pushed(repo, "main")


def sign_statement(repo: Repo, keys: Keys, rid: str, who: str, verdict: str = "approve",
                   sha: str | None = None, principal: str | None = None,
                   when: int | None = None) -> list[str]:
    """A statement signed by hand with ``who``'s key (what a hostile teammate can write)."""
    from ckptgit.governance import approvals, requests

    raw = (repo.path / requests.request_path(rid)).read_bytes()
    import hashlib
    import time

    st = approvals.Statement(rid, sha or hashlib.sha256(raw).hexdigest(), verdict,
                             principal or f"{who}@example.com", when or int(time.time()), "")
    sig = approvals.sign(str(keys.dir / f"{who}.key"), repo.path, st)
    folder = repo.path / requests.approvals_dir(rid)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / st.filename).write_bytes(st.payload())
    (folder / (st.filename + ".sig")).write_bytes(sig)
    return [str(folder / st.filename), str(folder / (st.filename + ".sig"))]
