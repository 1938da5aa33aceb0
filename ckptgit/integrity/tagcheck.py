"""The tag half of ``verify``: every decision tag, the trust root and the saves, as the one
verifier (``governance.verifier``) judges them, plus the signed approvals and emergency
ratifications of pull-request promotions (``governance.signoff``).

Nothing about a tag's genuineness is decided here: this turns the verifier's verdicts, the
trust changes it ignored (unsigned edits of ``.ckpt/``), the forged saves the index refused and
signoff's findings into findings.
"""

from __future__ import annotations

from typing import Any

from ckptgit import index
from ckptgit.governance import tagevents, trustroot
from ckptgit.governance import trailers as tr
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
    for tag, found in signed_approvals(repo, [e for e in events if e.verified]).items():
        verdicts[tag] += found
    return verdicts


def trust_findings(repo: Repo) -> list[Finding]:
    """Unsigned changes of the trust files on the trusted branch."""
    root = trustroot.load(repo.git)
    return [Finding(".ckpt/", "trust", why) for why in root.findings]


def forged_saves(repo: Repo, name: str | None = None) -> list[Finding]:
    return [Finding(f"commit {f.commit[:12]}", "forged-save",
                    f"claims to save {f.name} {f.id[:8]} but {f.reason}")
            for f in index.forgeries(repo.git) if name is None or f.name == name]


def findings(repo: Repo, names: list[str] | None = None,
             skip_forged: frozenset[str] = frozenset()) -> list[Finding]:
    """Trust, forged-save, tag and overdue-ratification findings (of ``names``, else of
    everything); forgeries whose commits are in ``skip_forged`` were reported already."""
    import time

    out = trust_findings(repo)
    now = repo.git.committer_time() or int(time.time())
    for name in names if names is not None else [None]:
        out += [f for f in forged_saves(repo, name)
                if f.subject.removeprefix("commit ") not in skip_forged]
        read = tagevents.read(repo.git, name)
        out += [Finding(tag, "tag", "; ".join(problems))
                for tag, problems in check(repo, name, read).items() if problems]
        out += [Finding(r.tag, "ratification", "emergency revert not ratified by "
                        f"{tagevents.iso(r.due)}: {'; '.join(r.reasons)} "
                        f"(git ckpt ratify {r.tag})")
                for r in ratifications(repo, read[0], now) if r.state == "overdue"]
    return out


# -- signed approvals (pull-request promotions) ------------------------------------------------
def _trusted(repo: Repo) -> tuple[str | None, Any]:
    """The protected branch's commit and its rules; without one, the one trust root
    (governance/trustroot), never the work tree: an edited allowed_signers must not make a
    forged approval look signed."""
    from ckptgit.governance import approvals, requests

    tip = requests.trusted_rev(repo.git, repo.config.governance.request_branch)
    if tip is not None:
        return tip, approvals.trust_at(repo.git, tip)
    root = trustroot.load(repo.git)
    return None, approvals.TrustRoot(root.config, root.signers, root.revoked, root.source)


def signed_approvals(repo: Repo, events: list[tagevents.Event]) -> dict[str, list[str]]:
    """Tag -> why its signed approvals (or its emergency) do not hold (governance/signoff)."""
    from ckptgit.governance import signoff

    tip, trust = _trusted(repo)
    out: dict[str, list[str]] = {}
    for ev in events:
        if not ev.annotated or ev.stage is None or ev.stage not in trust.config.stages:
            continue
        facts = signoff.TagFacts(ev.tag, "", ev.action, ev.stage, ev.created_at, ev.trailers)
        found = signoff.tag_problems(repo.git, facts, trust.config.rule(ev.stage), trust, tip)
        if found:
            out[ev.tag] = found
    return out


def ratifications(repo: Repo, events: list[tagevents.Event], now: int) -> list[Any]:
    """The ratification state of every emergency revert (governance/signoff)."""
    from ckptgit.governance import signoff

    tip, trust = _trusted(repo)
    out = []
    for ev in events:
        if ev.trailers.get(tr.EMERGENCY) is None or ev.stage not in trust.config.stages:
            continue
        obj = repo.git.rev_parse(f"refs/tags/{ev.tag}") or ""
        facts = signoff.TagFacts(ev.tag, obj, ev.action, ev.stage or "", ev.created_at,
                                 ev.trailers)
        out.append(signoff.ratification(repo.git, facts, trust.config.rule(ev.stage or ""),
                                        trust, tip, now))
    return out


def ratification_states(repo: Repo, events: list[tagevents.Event]) -> dict[str, str]:
    """Emergency tag -> ratified | pending | overdue (for stages and history)."""
    import time

    key = tr.EMERGENCY.lower()  # a body without the word cannot hold the trailer: most
    if not any(key in ev.body.lower() and ev.trailers.get(tr.EMERGENCY) for ev in events):
        return {}  # bodies are then never parsed (history at 1,000 tags: ~30 ms less)
    now = repo.git.committer_time() or int(time.time())
    return {r.tag: r.state for r in ratifications(repo, events, now)}
