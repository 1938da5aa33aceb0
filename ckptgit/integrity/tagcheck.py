"""The tag half of ``verify``: every promotion, revert and lock tag, judged with governance's rules.

Signatures are checked by ``git verify-tag`` against the repository's ``.ckpt/allowed_signers``
narrowed to the stage's principals (and ``.ckpt/revoked_signers``), trailers by governance's
own validator, and ``Ckpt-Seal`` against the seal in the sidecar of the commit the tag points
at, so a tag cannot vouch for other bytes than the checkpoint it names.
"""

from __future__ import annotations

from typing import Any

from ckptgit import sidecar
from ckptgit.errors import CkptError
from ckptgit.governance import tagevents, tagsigning
from ckptgit.governance import trailers as tr
from ckptgit.integrity.findings import Finding
from ckptgit.repo import Repo


def check(repo: Repo, name: str | None = None,
          read: tuple[list[tagevents.Event], list[tagevents.LockEvent]] | None = None,
          ) -> dict[str, list[str]]:
    """Tag name -> what is wrong with it (empty list: valid), for every ckpt tag (of
    ``name``); ``read`` is ``tagevents.read``'s answer when the caller has it already."""
    events, locks = read if read is not None else tagevents.read(repo.git, name)
    try:
        signers_text, revoked_text = tagsigning.repo_trust(repo.root)
    except CkptError:
        signers_text, revoked_text = "", None
    verdicts: dict[str, list[str]] = {}
    by_stage: dict[str | None, list[str]] = {}
    for ev in events:
        by_stage.setdefault(ev.stage, []).append(ev.tag)
        verdicts[ev.tag] = [] if ev.annotated else ["a lightweight tag, not a signed one"]
    for lock in locks:
        by_stage.setdefault(lock.stage, []).append(lock.tag)
        verdicts[lock.tag] = []
    for stage, names in by_stage.items():
        principals = _principals(repo, stage)
        signed = [t for t in names if not verdicts[t]]
        for tag, why in tagsigning.verify(repo.git, signed, signers_text, revoked_text,
                                       principals).items():
            if why is not None:
                verdicts[tag].append(_revoked(repo, tag, why, signers_text, revoked_text,
                                              principals))
    seals = _seals(repo, [(ev.commit, ev.trailers.get(tr.ID)) for ev in events])
    for ev in events:
        if not ev.annotated:
            continue
        approvals = _approvals(repo, ev.stage) if ev.action in ("promote", "unassign") \
            and ev.trailers.get(tr.EMERGENCY) is None else 0
        expected = ("revert",) if ev.action == "revert" else tr.ACTIONS
        if ev.trailers.get(tr.ACTION) is not None or ev.kind == "assign":
            verdicts[ev.tag] += tr.problems(ev.trailers, expected, approvals)
        verdicts[ev.tag] += _seal_problems(ev.trailers, seals.get(ev.commit, {}))
    for tag, found in signed_approvals(repo, events).items():
        verdicts[tag] += found
    return verdicts


def _trusted(repo: Repo) -> tuple[str | None, Any]:
    """The protected branch's commit and its rules (the work tree's when there is none)."""
    from ckptgit.governance import approvals, requests

    tip = requests.trusted_rev(repo.git, repo.config.governance.request_branch)
    if tip is not None:
        return tip, approvals.trust_at(repo.git, tip)
    try:
        signers, revoked = tagsigning.repo_trust(repo.root)
    except CkptError:
        signers, revoked = "", None
    return None, approvals.TrustRoot(repo.config, signers, revoked, "work tree")


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


def _revoked(repo: Repo, tag: str, why: str, signers_text: str, revoked_text: str | None,
             principals: tuple[str, ...]) -> str:
    """git prints only "Could not verify signature." for a revoked key (ssh-keygen's reason is
    swallowed): a signature that verifies once the revocation list is left out was revoked."""
    if not revoked_text or "revoked" in why:
        return why
    again = tagsigning.verify(repo.git, [tag], signers_text, None, principals)[tag]
    return "signed by a revoked key (listed in .ckpt/revoked_signers)" if again is None else why


def ratification_states(repo: Repo, events: list[tagevents.Event]) -> dict[str, str]:
    """Emergency tag -> ratified | pending | overdue (for stages and history)."""
    import time

    if not any(ev.trailers.get(tr.EMERGENCY) for ev in events):
        return {}
    now = repo.git.committer_time() or int(time.time())
    return {r.tag: r.state for r in ratifications(repo, events, now)}


def findings(repo: Repo, name: str | None = None) -> list[Finding]:
    import time

    read = tagevents.read(repo.git, name)
    found = [Finding(tag, "tag", "; ".join(problems))
             for tag, problems in check(repo, name, read).items() if problems]
    now = repo.git.committer_time() or int(time.time())
    found += [Finding(r.tag, "ratification", "emergency revert not ratified by "
                      f"{tagevents.iso(r.due)}: {'; '.join(r.reasons)} (git ckpt ratify {r.tag})")
              for r in ratifications(repo, read[0], now) if r.state == "overdue"]
    return found


def _seal_problems(trailers: tr.Trailers, seals: dict[str, str]) -> list[str]:
    ckpt_id, seal = trailers.get(tr.ID), trailers.get(tr.SEAL)
    if ckpt_id is None:
        return []
    if ckpt_id not in seals:
        return [f"{tr.ID} {ckpt_id} is not a checkpoint saved in the tagged commit"]
    if seal is not None and seal != f"sha256:{seals[ckpt_id]}":
        return [f"{tr.SEAL} {seal[:23]}… is not the seal sha256:{seals[ckpt_id][:16]}… of "
                f"checkpoint {ckpt_id[:8]}"]
    return []


def _seals(repo: Repo, wanted: list[tuple[str, str | None]]) -> dict[str, dict[str, str]]:
    """commit -> {checkpoint id: seal} for the sidecars in the tagged commits that can hold a
    wanted id: at the paths of known checkpoints (one ``cat-file --batch`` for every commit),
    and only those whose bytes contain the id are parsed. Either way an id that is not found
    fails the tag, never passes it (an id spelled with YAML escapes, a sidecar elsewhere)."""
    git = repo.git
    ids: dict[str, set[bytes]] = {}
    for commit, ckpt_id in wanted:
        ids.setdefault(commit, set()).update([ckpt_id.encode()] if ckpt_id else [])
    known = sorted({c.sidecar_path for c in repo.checkpoints()})  # one batch, no ls-tree each
    specs = [f"{c}:{p}" for c in sorted(ids) if ids[c]
             for p in (known or git.files_in_commit(c, sidecar.SUFFIX))]
    out: dict[str, dict[str, str]] = {c: {} for c in ids}
    for spec, raw in git.cat_files(specs).items():
        commit = spec.split(":", 1)[0]
        if raw is None or not any(i in raw for i in ids[commit]):
            continue
        try:
            doc: dict[str, Any] = sidecar.load(raw, spec)
            out[commit][str(doc["id"])] = str(doc["artifact"]["sha256"])
        except (CkptError, KeyError, TypeError):
            continue
    return out


def _principals(repo: Repo, stage: str | None) -> tuple[str, ...]:
    if stage is None:
        return ()
    try:
        return tuple(repo.config.rule(stage).signers)
    except (CkptError, AttributeError, KeyError):
        return ()


def _approvals(repo: Repo, stage: str | None) -> int:
    if stage is None:
        return 0
    try:
        return int(repo.config.rule(stage).approvals)
    except (CkptError, AttributeError, KeyError):
        return 0
