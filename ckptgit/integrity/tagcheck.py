"""The tag half of ``verify``: every decision tag, the trust root and the saves, as the one
verifier (``governance.verifier``) judges them.

Nothing is decided here: this turns the verifier's verdicts, the trust changes it ignored
(unsigned edits of ``.ckpt/``) and the forged saves the index refused into findings.
"""

from __future__ import annotations

from ckptgit import index
from ckptgit.governance import tagevents, trustroot
from ckptgit.integrity.findings import Finding
from ckptgit.repo import Repo


def check(repo: Repo, name: str | None = None,
          read: tuple[list[tagevents.Event], list[tagevents.LockEvent]] | None = None,
          ) -> dict[str, list[str]]:
    """Tag name -> what is wrong with it (empty list: valid), for every governed tag (of
    ``name``); ``read`` is ``tagevents.read``'s answer when the caller has it already."""
    events, locks = read if read is not None else tagevents.read(repo.git, name)
    verdicts = {ev.tag: list(ev.problems) for ev in events}
    verdicts.update({lock.tag: list(lock.problems) for lock in locks})
    return verdicts


def trust_findings(repo: Repo) -> list[Finding]:
    """Unsigned changes of the trust files on the trusted branch, and where trust comes from."""
    root = trustroot.load(repo.git)
    return [Finding(".ckpt/", "trust", why) for why in root.findings]


def forged_saves(repo: Repo, name: str | None = None) -> list[Finding]:
    return [Finding(f"commit {f.commit[:12]}", "forged-save",
                    f"claims to save {f.name} {f.id[:8]} but {f.reason}")
            for f in index.forgeries(repo.git) if name is None or f.name == name]


def findings(repo: Repo, names: list[str] | None = None,
             skip_forged: frozenset[str] = frozenset()) -> list[Finding]:
    """Trust, forged-save and tag findings (of ``names``, else of everything); forgeries
    whose commits are in ``skip_forged`` were reported already."""
    out = trust_findings(repo)
    for name in names if names is not None else [None]:
        out += [f for f in forged_saves(repo, name)
                if f.subject.removeprefix("commit ") not in skip_forged]
        out += [Finding(tag, "tag", "; ".join(problems))
                for tag, problems in check(repo, name).items() if problems]
    return out
