"""Promote-scoped guardrails on pushed stage tags (pre-push and the server's pre-receive).

``git ckpt promote`` judges ``applies: promote`` / ``promote:STAGE`` rules before it tags; a
promotion tag made by hand (plain ``git tag -s`` with the right trailers) skips that step, so
the hooks judge it again when it is pushed: the checkpoint the tag points at, the rules for the
stage it names, the same ``guardrails.evaluate``. As at ``promote``, an error-level failure is
refused; there is no override at promotion (fix the checkpoint or the rule).

Reverts are not judged: they put back a checkpoint the stage already held.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ckptgit import hooklines
from ckptgit.filenames import SIDECAR_SUFFIX
from ckptgit.git import Git

if TYPE_CHECKING:
    from ckptgit.policy.settings import Policy

ZERO_CHARS = {"0"}


@dataclass(frozen=True)
class PushedTag:
    """A created tag: its short name and the tag object's id."""

    name: str
    oid: str


def created_tags(hook: str, lines: Sequence[str]) -> list[PushedTag]:
    """Tags a push creates, from the hook's stdin (pre-push: ``local_ref local_sha remote_ref
    remote_sha``; pre-receive: ``old new ref``)."""
    found = []
    for line in lines:
        parts = hooklines.fields(line, 4 if hook == "pre-push" else 3) or []
        if hook == "pre-push" and len(parts) == 4:
            new, ref, old = parts[1], parts[2], parts[3]
        elif hook == "pre-receive" and len(parts) == 3:
            old, new, ref = parts
        else:
            continue
        if ref.startswith("refs/tags/") and set(new) != ZERO_CHARS and set(old) == ZERO_CHARS:
            found.append(PushedTag(ref.removeprefix("refs/tags/"), new))
    return found


def problems(git: Git, pushed: Sequence[PushedTag], policy: Policy, raw_config: Mapping[str, Any],
             dvc_root: Path | None) -> list[str]:
    """What the promote-scoped rules refuse among the promotion tags ``pushed``."""
    promotions = _promotions(git, pushed)
    if not promotions or not any(g.applies("promote", s) for g in policy.guardrails
                                 for _, s, _ in promotions):
        return []
    remote = _remote(policy, dvc_root)
    found: list[str] = []
    for tag, stage, commit in promotions:
        rails = [g for g in policy.guardrails if g.applies("promote", stage)]
        if rails:
            found += _judge(git, tag, stage, commit, rails, raw_config, remote)
    return found


def _promotions(git: Git, pushed: Sequence[PushedTag]) -> list[tuple[str, str, str]]:
    """``(tag, stage, commit)`` for each pushed stage assignment whose action is promote."""
    from ckptgit import tags
    from ckptgit.governance import trailers as tr
    from ckptgit.governance import verifier

    named = [(t, tags.parse(t.name)) for t in pushed]
    named = [(t, p) for t, p in named if p is not None and p.kind == "assign" and p.stage]
    if not named:
        return []
    objects = git.cat_files([t.oid for t, _ in named])
    out = []
    for tag, parsed in named:
        obj = verifier.parse_tag(objects.get(tag.oid) or b"")
        if obj is None or obj.target_type != "commit" or parsed is None or parsed.stage is None:
            continue  # not an annotated tag of a commit: the verifier refuses it already
        action = tr.parse_message(obj.message).get(tr.ACTION) or "promote"
        if action == "promote":
            out.append((tag.name, parsed.stage, obj.target))
    return out


def _remote(policy: Policy, dvc_root: Path | None) -> dict[str, str]:
    from ckptgit.policy.guardrails import needs_remote

    if dvc_root is None or not needs_remote(policy.guardrails) or \
            not (dvc_root / ".dvc").is_dir():
        return {}
    from ckptgit import storage

    return storage.remote_settings(dvc_root)


def _judge(git: Git, tag: str, stage: str, commit: str, rails: Sequence[Any],
           raw_config: Mapping[str, Any], remote: Mapping[str, str]) -> list[str]:
    from ckptgit import sidecar
    from ckptgit.errors import CkptError
    from ckptgit.policy.guardrails import Subject, evaluate

    doc = _saved_doc(git, tag, commit)
    if doc is None:
        return []  # no save there: the verifier refuses the tag and says why
    if isinstance(doc, Exception):
        return [f"{tag}: {doc}"]
    try:
        value = sidecar.value_of(doc, f"{tag}: the saved sidecar")
    except CkptError as exc:
        return [f"{tag}: {exc}"]
    verdict = evaluate(rails, Subject(value, None, remote), "promote", stage, raw_config)
    return [f"{tag}: guardrail {o.rule!r} (promote to {stage}): {o.message}"
            for o in verdict.blocking]


def _saved_doc(git: Git, tag: str, commit: str) -> dict[str, Any] | Exception | None:
    """The sidecar the save commit ``commit`` introduced for the tag's name."""
    from ckptgit import sidecar, tags
    from ckptgit.errors import CkptError

    parsed = tags.parse(tag)
    files = [f for f in git.out(["diff-tree", "--root", "--no-commit-id", "--name-only", "-r",
                                 "-z", "--no-renames", commit], check=False).split("\0")
             if f.endswith(SIDECAR_SUFFIX)]
    blobs = git.cat_files([f"{commit}:{f}" for f in files])
    for spec, raw in blobs.items():
        if raw is None:
            continue
        try:
            doc = sidecar.load(raw, f"{spec.partition(':')[2]} at {commit[:12]}")
        except CkptError as exc:
            return exc
        if parsed is not None and str(doc.get("name", "")).casefold() == parsed.name.casefold():
            return dict(doc)
    return None
