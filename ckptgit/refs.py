"""Turning what users type (ids, names, ``NAME~N``, ``NAME#STAGE``, commits) into checkpoints."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from ckptgit.errors import RefError
from ckptgit.git import Git, last_commit_touching

if TYPE_CHECKING:  # the values load where a reference is resolved, not in every hook
    from ckptgit.model import Checkpoint, StageAssignment

_HEX = re.compile(r"^[0-9a-f]{4,40}$")
_TILDE = re.compile(r"^(?P<name>.+)~(?P<n>\d+)$")

# ``NAME#STAGE`` and ``NAME@vX.Y.Z`` are decisions, and only the one verifier (in governance/,
# a layer above this one) may say which decisions are genuine. It registers itself here when
# ``ckptgit.governance`` is imported (``ckptgit.ops`` does so first); until then such
# references are refused, never read from tags nobody verified.
StageHolders = Callable[[Git, str | None], "dict[tuple[str, str], StageAssignment]"]
TagVerdict = Callable[[Git, str], str | None]  # None: the tag is genuine; else why not
_verifier: tuple[StageHolders, TagVerdict] | None = None


def register_verifier(holders: StageHolders, verdict: TagVerdict) -> None:
    global _verifier
    _verifier = (holders, verdict)


def _registered() -> tuple[StageHolders, TagVerdict]:
    if _verifier is None:
        raise RefError("stage and version references need the tag verifier "
                       "(import ckptgit.governance first)")
    return _verifier


def resolve(git: Git, ref: str, entries: list[Checkpoint]) -> Checkpoint:
    """The one checkpoint ``ref`` names, or a ``RefError`` listing candidates."""
    ref = ref.strip()
    if not ref:
        raise RefError("empty checkpoint reference")
    by_name = _by_name(entries)
    if "#" in ref:
        return _stage_holder(git, ref, entries)
    if ref.endswith("@latest"):
        return _nth(by_name, ref[: -len("@latest")], 0, ref)
    tilde = _TILDE.match(ref)
    if tilde and tilde["name"] in by_name:
        return _nth(by_name, tilde["name"], int(tilde["n"]), ref)
    if ref in by_name:
        _refuse_name_and_prefix(ref, by_name[ref][0], entries)
        return by_name[ref][0]
    if "@v" in ref:
        _require_verified(git, ref)
        return _via_commit(git, f"refs/tags/{ref}", ref, entries)
    if _HEX.match(ref):
        matches = [e for e in entries if e.id.startswith(ref)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise RefError(f"checkpoint id prefix {ref!r} is ambiguous",
                           [f"{e.id} ({e.name})" for e in matches])
    return _via_commit(git, ref, ref, entries)


def _refuse_name_and_prefix(ref: str, named: Checkpoint, entries: list[Checkpoint]) -> None:
    """A name that is also an id prefix of another checkpoint names two things: refuse, so a
    checkpoint named like a colleague's id can never silently stand in for it."""
    if not _HEX.match(ref):
        return
    others = [e for e in entries if e.id.startswith(ref) and e.name != ref]
    if others:
        raise RefError(f"{ref!r} is both a checkpoint name and an id prefix; say which",
                       [f"{named.name}@latest (name: {named.id})",
                        *[f"{e.id} ({e.name})" for e in others]])


def _by_name(entries: list[Checkpoint]) -> dict[str, list[Checkpoint]]:
    """Saves per name, newest first by creation time (history order breaks ties)."""
    out: dict[str, list[Checkpoint]] = {}
    for e in entries:
        out.setdefault(e.name, []).append(e)
    for saves in out.values():
        saves.sort(key=lambda c: c.created_at, reverse=True)
    return out


def _nth(by_name: dict[str, list[Checkpoint]], name: str, n: int, ref: str) -> Checkpoint:
    saves = by_name.get(name)
    if not saves:
        raise RefError(f"no checkpoint named {name!r}", _suggest(name, list(by_name)))
    if n >= len(saves):
        raise RefError(f"{ref}: {name} has only {len(saves)} saves (use {name}~0 … "
                       f"{name}~{len(saves) - 1})")
    return saves[n]


def _stage_holder(git: Git, ref: str, entries: list[Checkpoint]) -> Checkpoint:
    name, _, stage = ref.partition("#")
    holders = _registered()[0](git, name)
    held = holders.get((name, stage))
    if held is None:
        known = sorted({s for (n, s) in holders if n == name})
        raise RefError(f"stage {stage!r} of {name!r} holds no checkpoint",
                       [f"{name}#{s}" for s in known])
    return _via_commit(git, held.commit, ref, entries)


def _require_verified(git: Git, tag: str) -> None:
    """A version tag names a checkpoint only when the verifier accepts it."""
    why = _registered()[1](git, tag)
    if why is not None:
        raise RefError(f"tag {tag} is not verified: {why}")


def _via_commit(git: Git, rev: str, ref: str, entries: list[Checkpoint]) -> Checkpoint:
    commit = git.rev_parse(f"{rev}^{{commit}}")
    if commit is None:
        names = sorted({e.name for e in entries})
        raise RefError(f"unknown checkpoint reference {ref!r}", _suggest(ref, names) or names)
    saved_here = [e for e in entries if e.commit == commit]
    if len(saved_here) == 1:
        return saved_here[0]
    from ckptgit import sidecar  # YAML: only when a reference names a bare commit

    sidecars = git.files_in_commit(commit, sidecar.SUFFIX)
    if len(sidecars) != 1:
        found = [p.removesuffix(sidecar.SUFFIX) for p in sidecars]
        what = "no checkpoint" if not found else f"{len(found)} checkpoints"
        raise RefError(f"commit {commit[:12]} ({ref}) holds {what}; name one", found)
    raw = git.show_file(commit, sidecars[0])
    doc = sidecar.read(raw or b"", f"{commit[:12]}:{sidecars[0]}")
    for e in entries:
        if e.id == doc.id:
            return e
    from ckptgit.model import Checkpoint

    save_commit = last_commit_touching(git, commit, sidecars[0]) or commit
    return Checkpoint.of(doc, save_commit)


def _suggest(word: str, options: list[str]) -> list[str]:
    import difflib

    return difflib.get_close_matches(word, options, n=5, cutoff=0.5)
