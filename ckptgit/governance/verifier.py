"""The one verifier: the only code that decides whether a decision tag is genuine.

Hooks (pre-push, pre-receive), verify, audit, stages, history, REF resolution, show, restore,
diff and the preconditions of promote/revert/unassign/deprecate/lock all ask ``judge``; what
fails is shown as unverified and never counted (a stage's holder is its latest VALID
assignment). The rules, each stated with what it assumes in docs/governance.md "Threat model":

- names: only the exact forms ``git ckpt`` writes (``tagname``); the name inside the tag
  object equals the ref; no lightweight tags; the tag points at a commit;
- signature: SSH only, split where git splits it, valid for the key of the principal that
  ``Signed-By`` names (or any trusted principal when absent) at the tagger date, not revoked,
  and that principal may take this action (stage ``signers``; ``deprecators``; admins);
- trailers: from the final trailer block only, each key once (Approved-By may repeat), one
  line each, agreeing with the tag's grammar (action, name, stage);
- the save: ``Ckpt-Id``/``Ckpt-Seal`` are those of the GENUINE save the tag points at (the
  first commit that introduced the id, ``index``), never a deploy commit, a tree or another
  save; a stage with ``signed_saves: true`` needs an SSH-signed save commit;
- approvals: distinct principals, the signer counted only where ``self_approval: true``.

Verdicts depend only on the immutable tag object, the genuine save it points at and the
trust root, so they are cached under ``.git/ckpt/`` per (tag object id, trust digest).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ckptgit import tags
from ckptgit.config import Config, StageRule
from ckptgit.git import Git
from ckptgit.governance import tagname
from ckptgit.governance import trailers as tr
from ckptgit.governance.sigcheck import check, split_commit, split_tag
from ckptgit.governance.trustroot import TrustRoot, admins_of
from ckptgit.governance.trustroot import load as load_trust

__all__ = ["Verdict", "judge", "load_trust", "TrustRoot"]
_CACHE = "verdicts-v1.json"
_STAMP = re.compile(r"-?[0-9]{1,18}")
_CACHE_MAX = 200_000

# Seam for signed approvals (governance.approvals): given the tag's trailers and the trust
# root, return the principals whose DETACHED approval signatures verify, or None to count the
# Approved-By trailers of the signed tag itself.
ApprovalHook = Callable[[tr.Trailers, TrustRoot], "set[str] | None"]
approval_hook: ApprovalHook | None = None


@dataclass(frozen=True)
class Verdict:
    """What the verifier found about one tag: no problems means genuine."""

    problems: tuple[str, ...] = ()
    principal: str | None = None  # who signed, as the trusted allowed_signers names them

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class TagObject:
    """An annotated tag object's fields, the signed payload and its signature."""

    target: str
    target_type: str
    name: str
    tagger_time: int | None
    message: str
    payload: bytes
    signature: bytes


def parse_tag(raw: bytes) -> TagObject | None:
    """An annotated tag object, or None for anything else (a lightweight tag's commit)."""
    if not raw.startswith(b"object "):
        return None
    payload, signature = split_tag(raw)
    head, _, message = payload.partition(b"\n\n")
    headers: dict[str, str] = {}
    for line in head.decode("utf-8", "replace").split("\n"):
        key, _, value = line.partition(" ")
        headers.setdefault(key, value)
    if "tag" not in headers or "type" not in headers:
        return None
    stamp = headers.get("tagger", "").rsplit(">", 1)[-1].split()
    # ASCII digits that fit an int64: a hostile tagger line of 5,000 digits is no date, not
    # a ValueError from int()
    when = int(stamp[0]) if stamp and _STAMP.fullmatch(stamp[0]) else None
    return TagObject(headers["object"], headers["type"], headers["tag"], when,
                     message.decode("utf-8", "replace"), payload, signature)


# -- judging -----------------------------------------------------------------------------------
@dataclass
class _Context:
    git: Git
    trust: TrustRoot
    now: int | None
    saves: dict[str, Any] = field(default_factory=dict)  # commit -> Checkpoint | str (why not)


def judge(git: Git, refs: Sequence[tuple[str, str]], trust: TrustRoot | None = None,
          *, now: int | None = None) -> dict[str, Verdict]:
    """``(short tag name, object id)`` -> verdict, for each tag; ``now`` (server time) also
    bounds tagger dates. Cached verdicts are reused unless ``now`` is given."""
    trust = trust if trust is not None else load_trust(git)
    cache = _Cache(git, trust.digest) if now is None else None
    out: dict[str, Verdict] = {}
    todo = []
    for name, oid in refs:
        hit = cache.get(name, oid) if cache else None
        if hit is not None:
            out[name] = hit
        else:
            todo.append((name, oid))
    if todo:
        ctx = _Context(git, trust, now)
        raws = git.cat_files([oid for _, oid in todo])
        objects = {oid: parse_tag(raw) if raw is not None else None for oid, raw in raws.items()}
        _load_saves(ctx, [o.target for o in objects.values()
                          if o is not None and o.target_type == "commit"])
        for name, oid in todo:
            out[name] = _judge_one(ctx, name, objects.get(oid))
            if cache:
                cache.put(name, oid, out[name])
    if cache:
        for name, oid in refs:
            recreated = cache.recreated(name, oid, out[name])
            if recreated:
                out[name] = Verdict((*out[name].problems, recreated), out[name].principal)
        cache.save()
    return out


def _judge_one(ctx: _Context, name: str, obj: TagObject | None) -> Verdict:
    problems: list[str] = []
    bad_name = tagname.problem(name)
    if bad_name:
        problems.append(bad_name)
    if obj is None:
        return Verdict((*problems, "a lightweight tag: decisions are signed annotated tags "
                                   "('git ckpt promote')"))
    if obj.name != name:
        problems.append(f"the tag object is named {obj.name!r}, not {name!r}: a renamed tag")
    if obj.target_type != "commit":
        problems.append(f"it points at a {obj.target_type}, not at a save commit")
    trailers = tr.parse_message(obj.message)
    parsed, lock = tags.parse(name), tags.parse_lock(name)
    rule = _rule(ctx.trust.config, parsed.stage if parsed else lock.stage if lock else None)
    if (parsed and parsed.stage or lock) and rule is None:
        problems.append("its stage is not in the trusted config")
    problems += _trailer_problems(trailers, parsed, lock, rule)
    allowed = _permitted(ctx.trust.config, parsed, lock, rule)
    if allowed and rule is not None and trailers.get(tr.EMERGENCY) is not None:
        allowed = (*allowed, *rule.responders)  # who may revert in an emergency
    signed = check(ctx.trust.keyring, obj.payload, obj.signature, trailers.get(tr.SIGNED_BY),
                   obj.tagger_time, allowed)
    if signed.problem:
        problems.append(signed.problem)
    if parsed and obj.target_type == "commit" and parsed.kind != "deregister":
        problems += _save_problems(ctx, obj.target, trailers, parsed, rule)
    problems += _approval_problems(ctx.trust, trailers, parsed, rule, signed.principal)
    if ctx.now is not None:
        problems += _date_problems(ctx.trust.config, obj.tagger_time, ctx.now)
    return Verdict(tuple(dict.fromkeys(problems)), signed.principal)


def _rule(cfg: Config, stage: str | None) -> StageRule | None:
    if stage is None or stage not in cfg.stages:
        return None
    return cfg.rule(stage)


_EXPECTED = {"assign": ("promote", "revert"), "unassign": ("unassign",),
             "deprecate": ("deprecate",), "register": ("register",),
             "deregister": ("deregister",), "lock": ("lock",), "unlock": ("unlock",)}


def _trailer_problems(trailers: tr.Trailers, parsed: tags.TagName | None,
                      lock: tags.LockTag | None, rule: StageRule | None) -> list[str]:
    if parsed is None and lock is None:
        return []
    kind = parsed.kind if parsed else lock.kind if lock else ""
    expected = _EXPECTED[kind]
    found = tr.problems(trailers, expected, 0)
    stage = parsed.stage if parsed else lock.stage if lock else None
    for key, want in ((tr.STAGE, stage), (tr.NAME, parsed.name if parsed else None)):
        have = trailers.get(key)
        if want and have is not None and have != want:
            found.append(f"{key} says {have!r}, the tag name says {want!r}")
    return found


def _permitted(cfg: Config, parsed: tags.TagName | None, lock: tags.LockTag | None,
               rule: StageRule | None) -> tuple[str, ...]:
    """Principals who may sign this decision; empty: anyone in the trusted allowed_signers."""
    if parsed is not None and parsed.kind in ("deprecate", "register", "deregister"):
        raw = cfg.raw.get("governance", {}) if isinstance(cfg.raw.get("governance"), dict) \
            else {}
        named = raw.get("deprecators")
        if isinstance(named, list) and named:
            return tuple(str(p) for p in named)
        admins = admins_of(cfg)
        if admins:
            return admins
        last = _rule(cfg, cfg.stages[-1]) if cfg.stages else None
        return last.signers if last else ()
    return rule.signers if rule is not None else ()


def _save_problems(ctx: _Context, commit: str, trailers: tr.Trailers, parsed: tags.TagName,
                   rule: StageRule | None) -> list[str]:
    save = ctx.saves.get(commit)
    if isinstance(save, str) or save is None:
        return [f"it points at {commit[:12]}, which is not a genuine save "
                f"({save or 'no checkpoint was saved there'})"]
    found = []
    claimed, seal = trailers.get(tr.ID), trailers.get(tr.SEAL)
    if claimed is not None and claimed != save.id:
        found.append(f"{tr.ID} {claimed} is not the id of the save it points at ({save.id})")
    if seal is not None and seal != f"sha256:{save.sha256}":
        found.append(f"{tr.SEAL} {seal[:23]}… is not the seal sha256:{save.sha256[:16]}… of "
                     "the save it points at")
    if save.name != parsed.name:
        found.append(f"it names {parsed.name!r} but points at a save of {save.name!r}")
    if rule is not None and rule.signed_saves and parsed.kind == "assign":
        raw = ctx.git.cat_files([commit]).get(commit) or b""
        payload, signature = split_commit(raw)
        verdict = check(ctx.trust.keyring, payload, signature, None, None)
        if verdict.problem:
            found.append(f"stage {rule.name} takes signed saves only; the save is "
                         f"{verdict.problem}")
    return found


def _approval_problems(trust: TrustRoot, trailers: tr.Trailers, parsed: tags.TagName | None,
                       rule: StageRule | None, signer: str | None) -> list[str]:
    if parsed is None or rule is None or parsed.kind not in ("assign", "unassign"):
        return []
    needed = rule.approvals
    if needed <= 0 or trailers.get(tr.EMERGENCY) is not None:
        return []  # an emergency revert is ratified afterwards (governance/signoff)
    hooked = approval_hook(trailers, trust) if approval_hook is not None else None
    names = hooked if hooked is not None else {
        a.strip().lower() for a in trailers.all(tr.APPROVED_BY) if a.strip()}
    if signer and not rule.self_approval:
        names = {n for n in names if n != signer.lower()}
    if len(names) < needed:
        return [f"{len(names)} distinct approval(s) besides the signer; this stage needs "
                f"{needed} ({rule.name})"]
    return []


def _date_problems(cfg: Config, when: int | None, now: int) -> list[str]:
    window = cfg.governance.tag_date_window
    if when is not None and abs(now - when) <= window:
        return []
    if when is None:
        return ["it has no tagger date"]
    delta = now - when
    return [f"tagger date is {abs(delta)} s {'behind' if delta > 0 else 'ahead of'} server "
            f"time (allowed ±{window} s): re-create the tag now"]


# -- saves -------------------------------------------------------------------------------------
def _load_saves(ctx: _Context, commits: Sequence[str]) -> None:
    """commit -> its genuine Checkpoint, or why it is not one (from the index when it knows
    the commit; otherwise from the commit itself and its ancestry)."""
    from ckptgit import index

    wanted = set(commits)
    if not wanted:
        return
    entries, forged = index.load_all(ctx.git) if ctx.git.head() is not None else ([], [])
    for c in entries:
        if c.commit in wanted:
            ctx.saves[c.commit] = c
    for f in forged:
        if f.commit in wanted:
            ctx.saves[f.commit] = f"a forged save: {f.reason}"
    rest = sorted(wanted - set(ctx.saves))
    if rest:
        ctx.saves.update(_outside_head(ctx.git, rest))


def _outside_head(git: Git, commits: list[str]) -> dict[str, Any]:
    """Saves not reachable from HEAD (another branch; a push on the server): judged alone."""
    from ckptgit import index

    out: dict[str, Any] = {}
    found, forged = index.scan_commits(git, commits)
    for f in forged:
        out[f.commit] = f"a forged save: {f.reason}"
    for c in found:
        earlier = git.out(["log", "--format=%H", f"--grep=^Ckpt-Id: {c.id}$", f"{c.commit}^",
                           "--"], check=False).split() if _has_parent(git, c.commit) else []
        out[c.commit] = (f"a forged save: reuses the id of the save at {earlier[0][:12]}"
                         if earlier else c)
    return out


def _has_parent(git: Git, commit: str) -> bool:
    return git.rev_parse(f"{commit}^") is not None


# -- cache -------------------------------------------------------------------------------------
class _Cache:
    """Verdicts per (tag object id, trust digest), and the object each valid name had."""

    def __init__(self, git: Git, digest: str) -> None:
        self.path = git.ckpt_dir / _CACHE
        self.digest = digest
        self.dirty = False
        self.verdicts: dict[str, Any] = {}
        self.names: dict[str, str] = {}
        try:
            raw = self.path.read_bytes()
        except OSError:
            return
        import orjson  # 1.5 MB at 10,000 tags: a third of json's time

        try:
            data = orjson.loads(raw)
        except ValueError:  # also what orjson refuses and json wrote: a lone surrogate
            try:
                data = json.loads(raw)
            except (ValueError, RecursionError):
                return
        if type(data) is dict and type(data.get("verdicts")) is dict \
                and type(data.get("names")) is dict:
            self.verdicts, self.names = data["verdicts"], data["names"]

    def get(self, name: str, oid: str) -> Verdict | None:
        """The cached verdict, or None (then judged again) unless the entry has the exact
        shape ``[[problem, …], principal or null]``: the file is ours, but never trusted
        into a crash."""
        hit = self.verdicts.get(f"{oid}:{self.digest}:{name}")
        if type(hit) is not list or len(hit) != 2:
            return None
        problems, principal = hit
        if type(problems) is not list or not (principal is None or type(principal) is str):
            return None
        found = tuple(problems)
        if not all(type(p) is str for p in found):
            return None
        return Verdict(found, principal)

    def put(self, name: str, oid: str, verdict: Verdict) -> None:
        self.verdicts[f"{oid}:{self.digest}:{name}"] = [list(verdict.problems),
                                                         verdict.principal]
        self.dirty = True

    def recreated(self, name: str, oid: str, verdict: Verdict) -> str | None:
        """A valid tag seen here before under another object: deleted and made again."""
        seen = self.names.get(name)
        if type(seen) is str and seen != oid:
            return (f"this tag was deleted and made again (it was tag object {seen[:12]}); "
                    "decisions are never rewritten")
        if seen is None and verdict.ok:
            self.names[name] = oid
            self.dirty = True
        return None

    def save(self) -> None:
        if not self.dirty:
            return
        if len(self.verdicts) > _CACHE_MAX:
            self.verdicts = {}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"verdicts": self.verdicts, "names": self.names}))
            os.replace(tmp, self.path)
        except OSError:
            pass  # a cache: the next run verifies again
