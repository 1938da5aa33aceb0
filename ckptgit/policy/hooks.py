"""Guardrails in the hooks: the sidecars a commit or a push brings, judged like a save (or a
push), and the promotion tags a push creates, judged like ``promote`` (``promotions.py``), with
the same ``guardrails.evaluate``.

pre-commit reads the work tree's config; pre-push the repository's; pre-receive only the
server's trusted copy (``hooks install --server``), never the pushed one. Overrides recorded in
a sidecar at save (``--override``, with its rationale) stay accepted. pre-receive cannot record
outcomes in ``refs/ckpt/policy-log``: git refuses ref updates while a push is in quarantine.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ckptgit import hooklines
from ckptgit.filenames import SIDECAR_SUFFIX
from ckptgit.git import Git
from ckptgit.policy import promotions

if TYPE_CHECKING:  # the light path (no sidecar staged) imports no YAML, config or CEL
    from ckptgit.model import Sidecar
    from ckptgit.policy.guardrails import Verdict
    from ckptgit.policy.settings import Policy

ZERO_CHARS = {"0"}
TRUSTED_CONFIG = "ckpt-trusted/config.yaml"
CONFIG_PATH = ".ckpt/config.yaml"


def problems(hook: str, git: Git, args: Sequence[str], lines: Sequence[str]) -> list[str]:
    """What the guardrails refuse in this commit or push (empty: go on)."""
    if hook == "pre-commit":
        # one listing of the staged sidecars and pointers (added or modified) for both checks
        staged = [p for p in git.out(["diff", "--cached", "--name-only", "-z",
                                      "--diff-filter=AM", "--", f"*{SIDECAR_SUFFIX}",
                                      "*.dvc"]).split("\0") if p]
        return (_pre_commit(git, [p for p in staged if p.endswith(SIDECAR_SUFFIX)])
                + _staged_models(git, [p for p in staged if p.endswith(".dvc")]))
    if hook == "pre-push":
        heads = [p[1] for p in hooklines.pushed(lines)
                 if set(p[1]) != ZERO_CHARS and p[0].startswith("refs/heads/")]
        remote = args[0] if args else "origin"
        pushed = promotions.created_tags(hook, lines)
        if not heads and not pushed:
            return []
        policy, text = _work_tree_policy(git)
        found = _saves(git, [*heads, "--not", f"--remotes={remote}"], (policy, text),
                       True) if heads else []
        return found + (promotions.problems(git, pushed, policy, _raw(text), git.root)
                        if pushed else [])
    heads = [u.new for u in hooklines.received(lines)
             if not u.deleted and u.ref.startswith("refs/heads/")]
    pushed = promotions.created_tags(hook, lines)
    trusted = git.git_dir / TRUSTED_CONFIG
    if not (heads or pushed) or not trusted.is_file():
        return []  # no trusted copy: refupdates already refuses the push and says why
    from ckptgit.policy import settings

    text = trusted.read_bytes()
    policy = settings.from_text(text, "trusted config.yaml")
    found = (_saves(git, [*heads, "--not", "--all"], (policy, text), False)
             + _pushed_models(git, heads, text)) if heads else []
    # the server's DVC settings (its trusted copy), never the pusher's
    return found + (promotions.problems(git, pushed, policy, _raw(text),
                                        trusted.parent / "dvc") if pushed else [])


def _staged_models(git: Git, staged: list[str]) -> list[str]:
    """A ``.dvc`` file staged for a model with no sidecar staged or committed beside it."""
    if not staged:
        return []
    from ckptgit.policy import coverage

    index = set(p for p in git.out(["ls-files", "-z"]).split("\0") if p)
    blobs = git.cat_files([f":{p}" for p in staged])
    globs = coverage.patterns(_raw(_work_tree_policy_text(git)))
    found = coverage.uncovered({p: blobs.get(f":{p}") for p in staged}, index, globs)
    return [coverage.message(p) for p in found]


def _pushed_models(git: Git, heads: list[str], config_text: bytes) -> list[str]:
    from ckptgit.policy import coverage

    globs = coverage.patterns(_raw(config_text))
    found: set[str] = set()
    for head in heads:
        found.update(coverage.in_tree(git, head, globs))
    return [f"{coverage.message(p)} (pushed)" for p in sorted(found)]


def _work_tree_policy_text(git: Git) -> bytes:
    path = git.root / CONFIG_PATH
    return path.read_bytes() if path.is_file() else b""


def _work_tree_policy(git: Git) -> tuple[Policy, bytes]:
    from ckptgit.policy import settings

    path = git.root / CONFIG_PATH
    text = path.read_bytes() if path.is_file() else b""
    return settings.from_text(text) if text else settings.Policy(), text


def _pre_commit(git: Git, staged: list[str]) -> list[str]:
    if not staged:
        return []
    policy, text = _work_tree_policy(git)
    if not policy.guardrails:
        return []
    found = []
    for path, raw in git.cat_files([f":{p}" for p in staged]).items():
        if raw is not None:
            found += _judge(git, policy, text, raw, path.lstrip(":"), "save", True)
    return found


def _saves(git: Git, revs: list[str], policy_text: tuple[Policy, bytes],
           record: bool) -> list[str]:
    policy, text = policy_text
    if not policy.guardrails:
        return []
    specs = [f"{e.commit}:{f}" for e in git.log_saves(revs, ("Ckpt-Id",))
             for f in e.files if f.endswith(SIDECAR_SUFFIX)]
    found = []
    for spec, raw in git.cat_files(specs).items():
        if raw is not None:
            found += _judge(git, policy, text, raw, f"{spec.partition(':')[2]} at {spec[:12]}",
                            "push", record)
    return found


def _judge(git: Git, policy: Policy, text: bytes, raw: bytes, where: str,
           action: str, record: bool) -> list[str]:
    from ckptgit import sidecar
    from ckptgit.errors import CkptError
    from ckptgit.policy.guardrails import Subject, evaluate

    try:
        doc = sidecar.read(raw, where)
    except CkptError as exc:
        return [f"{where}: {exc}"]  # refupdates reports bad sidecars too; never a crash here
    accepted = {o["rule"]: str(o.get("rationale", "")) for o in doc.overrides()
                if o.get("rationale")}
    raw_config = _raw(text)
    verdict = evaluate(policy.guardrails, Subject(doc), action, None, raw_config, accepted)
    if record and verdict.outcomes:
        _record(git, action, doc, verdict)
    return [f"{where}: guardrail {o.rule!r} ({action}): {o.message}" for o in verdict.blocking]


def _raw(text: bytes) -> dict[str, Any]:
    from ckptgit import sidecar
    from ckptgit.config import CONFIG_MAX_BYTES

    data = sidecar.parse_yaml(text, "config", CONFIG_MAX_BYTES) if text else {}
    return data if isinstance(data, dict) else {}


def _record(git: Git, action: str, doc: Sidecar, verdict: Verdict) -> None:
    from ckptgit.policy import records

    records.append(git, records.LOG_REF, f"policy: hook {action} {doc.name}",
                   {"action": f"hook:{action}", "name": doc.name, "id": doc.id,
                    "refused": bool(verdict.blocking), "when": records.now(),
                    "evaluated": len(verdict.outcomes),
                    "outcomes": [o.to_dict() for o in verdict.outcomes if o.result != "pass"]})
