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
from ckptgit.governance import history, signing
from ckptgit.governance import trailers as tr
from ckptgit.integrity.verify import Finding
from ckptgit.repo import Repo


def check(repo: Repo, name: str | None = None,
          read: tuple[list[history.Event], list[history.LockEvent]] | None = None,
          ) -> dict[str, list[str]]:
    """Tag name -> what is wrong with it (empty list: valid), for every ckpt tag (of
    ``name``); ``read`` is ``history.read``'s answer when the caller has it already."""
    events, locks = read if read is not None else history.read(repo.git, name)
    try:
        signers_text, revoked_text = signing.repo_trust(repo.root)
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
        for tag, why in signing.verify(repo.git, signed, signers_text, revoked_text,
                                       principals).items():
            if why is not None:
                verdicts[tag].append(_revoked(repo, tag, why, signers_text, revoked_text,
                                              principals))
    seals = _seals(repo, [(ev.commit, ev.trailers.get(tr.ID)) for ev in events])
    for ev in events:
        if not ev.annotated:
            continue
        approvals = _approvals(repo, ev.stage) if ev.action in ("promote", "unassign") else 0
        expected = ("revert",) if ev.action == "revert" else tr.ACTIONS
        if ev.trailers.get(tr.ACTION) is not None or ev.kind == "assign":
            verdicts[ev.tag] += tr.problems(ev.trailers, expected, approvals)
        verdicts[ev.tag] += _seal_problems(ev.trailers, seals.get(ev.commit, {}))
    return verdicts


def _revoked(repo: Repo, tag: str, why: str, signers_text: str, revoked_text: str | None,
             principals: tuple[str, ...]) -> str:
    """git prints only "Could not verify signature." for a revoked key (ssh-keygen's reason is
    swallowed): a signature that verifies once the revocation list is left out was revoked."""
    if not revoked_text or "revoked" in why:
        return why
    again = signing.verify(repo.git, [tag], signers_text, None, principals)[tag]
    return "signed by a revoked key (listed in .ckpt/revoked_signers)" if again is None else why


def findings(repo: Repo, name: str | None = None) -> list[Finding]:
    return [Finding(tag, "tag", "; ".join(problems))
            for tag, problems in check(repo, name).items() if problems]


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
    """commit -> {checkpoint id: seal} for every sidecar in the tagged commits."""
    git = repo.git
    commits = sorted({c for c, _ in wanted})
    specs = [f"{c}:{p}" for c in commits for p in git.files_in_commit(c, sidecar.SUFFIX)]
    out: dict[str, dict[str, str]] = {c: {} for c in commits}
    for spec, doc in _parsed(repo, specs).items():
        try:
            out[spec.split(":", 1)[0]][str(doc["id"])] = str(doc["artifact"]["sha256"])
        except (KeyError, TypeError):
            continue
    return out


def _parsed(repo: Repo, specs: list[str]) -> dict[str, dict[str, Any]]:
    """The sidecars at ``specs``, through verify's parse cache (by blob id): 10,000 stage
    events on saves verify has seen parse nothing again."""
    from ckptgit.integrity import parsecache

    oids = repo.git.object_ids(specs)
    cache = parsecache.ParseCache(repo.git.ckpt_dir)
    found = {spec: cache.get(oids.get(spec)) for spec in specs}
    missing = [spec for spec, hit in found.items() if hit is None and oids.get(spec)]
    for spec, raw in repo.git.cat_files(missing).items():
        if raw is not None:
            found[spec] = checked = sidecar.check(raw)
            cache.put(str(oids[spec]), checked)
    cache.save()
    return {spec: hit.doc for spec, hit in found.items() if hit is not None and hit.doc}


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
