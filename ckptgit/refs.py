"""Turning what users type (ids, names, ``NAME~N``, ``NAME#STAGE``, commits) into checkpoints."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ckptgit.errors import RefError
from ckptgit.git import Git, last_commit_touching
from ckptgit.saves import Saves

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


def resolve(git: Git, ref: str, entries: Sequence[Checkpoint]) -> Checkpoint:
    """The one checkpoint ``ref`` names, or a ``RefError`` listing candidates.

    Lookups go through the index's columns (``Saves``): only the saves a reference names
    are built, whatever the length of the history."""
    ref = ref.strip()
    if not ref:
        raise RefError("empty checkpoint reference")
    saves = entries if isinstance(entries, Saves) else Saves.of(entries)
    if "#" in ref:
        return _stage_holder(git, ref, saves)
    if ref.endswith("@latest"):
        return _nth(saves, ref[: -len("@latest")], 0, ref)
    tilde = _TILDE.match(ref)
    if tilde and tilde["name"] in saves.column("name"):
        return _nth(saves, tilde["name"], int(tilde["n"]), ref)
    if ref in saves.column("name"):
        newest = _nth(saves, ref, 0, ref)
        _refuse_name_and_prefix(ref, newest, saves)
        return newest
    if "@v" in ref:
        _require_verified(git, ref)
        return _via_commit(git, f"refs/tags/{ref}", ref, saves)
    if _HEX.match(ref):
        matches = saves.with_id_prefix(ref)
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise RefError(f"checkpoint id prefix {ref!r} is ambiguous",
                           [f"{e.id} ({e.name})" for e in matches])
    return _via_commit(git, ref, ref, saves)


def _refuse_name_and_prefix(ref: str, named: Checkpoint, saves: Saves) -> None:
    """A name that is also an id prefix of another checkpoint names two things: refuse, so a
    checkpoint named like a colleague's id can never silently stand in for it."""
    if not _HEX.match(ref):
        return
    others = [e for e in saves.with_id_prefix(ref) if e.name != ref]
    if others:
        raise RefError(f"{ref!r} is both a checkpoint name and an id prefix; say which",
                       [f"{named.name}@latest (name: {named.id})",
                        *[f"{e.id} ({e.name})" for e in others]])


def _nth(saves: Saves, name: str, n: int, ref: str) -> Checkpoint:
    """The ``n``-th newest save of ``name`` by creation time (history order breaks ties)."""
    rows = saves.newest_first(name)
    if not rows:
        raise RefError(f"no checkpoint named {name!r}", _suggest(name, saves.names()))
    if n >= len(rows):
        raise RefError(f"{ref}: {name} has only {len(rows)} saves (use {name}~0 … "
                       f"{name}~{len(rows) - 1})")
    return saves[rows[n]]


def _stage_holder(git: Git, ref: str, entries: Saves) -> Checkpoint:
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


def _via_commit(git: Git, rev: str, ref: str, entries: Saves) -> Checkpoint:
    commit = git.rev_parse(f"{rev}^{{commit}}")
    if commit is None:
        names = sorted(entries.names())
        raise RefError(f"unknown checkpoint reference {ref!r}", _suggest(ref, names) or names)
    saved_here = entries.at_commit(commit)
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
    known = entries.with_id(doc.id)
    if known is not None:
        return known
    from ckptgit.model import Checkpoint

    save_commit = last_commit_touching(git, commit, sidecars[0]) or commit
    return Checkpoint.of(doc, save_commit)


def _suggest(word: str, options: list[str]) -> list[str]:
    import difflib

    return difflib.get_close_matches(word, options, n=5, cutoff=0.5)
