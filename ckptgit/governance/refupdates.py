"""What the hooks check: staged records (pre-commit) and pushed ref updates (pre-push, the
server's pre-receive).

Each returns a list of problems (one line each, naming the path or tag); an empty list lets
git go on. ``pre_commit`` is on every commit's path, so it imports nothing heavy until a
staged path actually concerns checkpoints.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ckptgit import hooklines
from ckptgit.errors import CkptError
from ckptgit.filenames import SIDECAR_SUFFIX
from ckptgit.git import Git

if TYPE_CHECKING:  # the config (and YAML) is imported only when a hook needs it
    from ckptgit.config import Config
    from ckptgit.governance import pushset

ZERO = "0" * 40
MUTABLE_FIELDS = ("labels", "notes")
TRUSTED_DIR = "ckpt-trusted"  # inside a bare repository, written by 'hooks install --server'
# kept here, not in config.py: importing the config (and YAML) costs more than this whole hook
WEIGHT_SUFFIXES = (".safetensors", ".pt", ".pth", ".bin", ".ckpt", ".gguf", ".onnx", ".npz")


# -- pre-commit --------------------------------------------------------------------------------
def pre_commit(git: Git) -> list[str]:
    """Staged sidecars valid and unedited; no model weights committed to git itself."""
    raw = git.out(["diff", "--cached", "--raw", "-z", "--no-renames", "--no-abbrev"])
    fields = raw.split("\0")
    staged: dict[str, str] = {}  # path -> new blob, for added or modified paths
    records: dict[str, str | None] = {}  # pointers and sidecars changed or deleted
    for meta, path in zip(fields[0::2], fields[1::2], strict=False):
        parts = meta.split()
        if len(parts) == 5 and parts[4] != "D":
            staged[path] = parts[3]
        if len(parts) == 5 and path.endswith((".dvc", SIDECAR_SUFFIX)):
            records[path] = None if parts[4] == "D" else parts[3]
    sidecars = [p for p in staged if p.endswith(SIDECAR_SUFFIX)]
    weights = [p for p in staged if p.lower().endswith(WEIGHT_SUFFIXES)]
    if not sidecars and not weights and not records:
        return []
    problems = _weights(git, {p: staged[p] for p in weights}) if weights else []
    if records and git.head() is not None:
        from ckptgit.governance import stale

        problems += [stale.message(r) for r in stale.reverts(git, records)]
    for path in sidecars:
        problems += _sidecar(git, path, staged)
    return problems


def _weights(git: Git, blobs: dict[str, str]) -> list[str]:
    from ckptgit import config

    limit = config.load(git.root).governance.max_weight_bytes
    sizes = _blob_sizes(git, list(blobs.values()))
    return [f"{path} ({sizes[blob]:,} bytes) is model weights, over the {limit:,}-byte limit "
            f"for git: save it with 'git ckpt save {path} -n NAME' and unstage it "
            f"('git rm --cached {path}')"
            for path, blob in blobs.items() if sizes.get(blob, 0) > limit]


def _blob_sizes(git: Git, blobs: Sequence[str]) -> dict[str, int]:
    out = git.out(["cat-file", "--batch-check=%(objectname) %(objectsize)"],
                  input="".join(f"{b}\n" for b in blobs).encode())
    sizes = {}
    for line in out.splitlines():
        oid, _, size = line.partition(" ")
        if size.isdigit():
            sizes[oid] = int(size)
    return sizes


def _sidecar(git: Git, path: str, staged: dict[str, str]) -> list[str]:
    from ckptgit import sidecar, storage
    from ckptgit.errors import CkptError

    blobs = git.cat_files([staged[path], f"HEAD:{path}"])
    try:
        doc = sidecar.load(blobs[staged[path]] or b"", path)
    except CkptError as exc:
        return [f"{path}: {exc}"]
    problems = [f"{path}: {p}" for p in sidecar.schema_errors(doc)[:3]]
    old_raw = blobs.get(f"HEAD:{path}")
    if old_raw is not None:
        try:
            old = sidecar.load(old_raw, f"HEAD:{path}")
        except CkptError:
            old = {}
        if old.get("id") == doc.get("id"):
            changed = sorted(k for k in set(old) | set(doc)
                             if k not in MUTABLE_FIELDS and old.get(k) != doc.get(k))
            if changed:
                problems.append(f"{path}: recorded fields of saved checkpoint {doc.get('id')} "
                                f"edited ({', '.join(changed)}); a checkpoint is immutable: "
                                "save a new one (only labels and notes may change)")
    dvcfile = path.removesuffix(SIDECAR_SUFFIX) + ".dvc"
    raw_ptr = (git.cat_files([staged[dvcfile]])[staged[dvcfile]] if dvcfile in staged
               else git.show_file("HEAD", dvcfile))
    art = doc.get("artifact") if isinstance(doc.get("artifact"), dict) else {}
    if raw_ptr is not None and art:
        try:
            pointer = storage.parse_pointer(raw_ptr)
        except CkptError as exc:
            return [*problems, f"{dvcfile}: {exc}"]
        if pointer.md5 != art.get("md5"):
            problems.append(f"{path}: artifact md5 {art.get('md5')} does not match {dvcfile} "
                            f"({pointer.md5})")
    return problems


# -- tags: pre-push and pre-receive ------------------------------------------------------------
def governed(git: Git, short: str) -> bool:
    """Whether a pushed tag name is one the hooks govern (any GTO form, any letter case)."""
    from ckptgit.governance import tagname

    if tagname.governed(short):
        return True
    return any(c in short for c in "#@!") and tagname.governed(short, _known_names(git))


def _known_names(git: Git) -> set[str]:
    """Artifact names with a save reachable from HEAD (an unknown form under one is refused)."""
    from ckptgit import index

    try:
        return {c.name.casefold() for c in index.load(git)}
    except CkptError:
        return set()


def check_tags(git: Git, pushed: Sequence[tuple[str, str]], trust: Any,
               now: int | None = None, tip: str | None = None) -> list[str]:
    """Problems of pushed governed tags ``(name, object id)``, as the one verifier judges them
    (with ``now``, tagger dates must be near it too), then the signed approvals of those it
    accepts (``governance/signoff``, against the request branch at ``tip``)."""
    from ckptgit.governance import verifier

    verdicts = verifier.judge(git, pushed, trust, now=now)
    problems = [f"{name}: {p}" for name, _ in pushed for p in verdicts[name].problems]
    accepted = [(name, sha) for name, sha in pushed if verdicts[name].ok]
    if accepted:
        objects = git.cat_files([sha for _, sha in accepted])
        for name, sha in accepted:
            late = _signoff(git, name, sha, objects.get(sha) or b"", trust, tip, now)
            problems += [f"{name}: {p}" for p in late]
    return problems


def _signoff(git: Git, name: str, sha: str, raw: bytes, trust: Any,
             tip: str | None, now: int | None) -> list[str]:
    """Signed approvals (or a responder's emergency) of a stage tag: governance/signoff."""
    from ckptgit import tags
    from ckptgit.governance import approvals, signoff, verifier
    from ckptgit.governance import trailers as tr

    parsed, obj = tags.parse(name), verifier.parse_tag(raw)
    if parsed is None or parsed.stage is None or obj is None:
        return []
    trailers = tr.parse_message(obj.message)
    action = trailers.get(tr.ACTION) or {"assign": "promote"}.get(parsed.kind, parsed.kind)
    facts = signoff.TagFacts(name, sha, action, parsed.stage, obj.tagger_time or 0, trailers)
    root = approvals.TrustRoot(trust.config, trust.signers, trust.revoked, "trusted copy")
    rule = trust.config.rule(parsed.stage)
    found = signoff.tag_problems(git, facts, rule, root, tip)
    if now is not None and trailers.get(tr.EMERGENCY) is not None:
        late = signoff.ratification(git, facts, rule, root, tip, now)
        if late.state == "overdue":
            found.append(f"an emergency revert past its ratification window "
                         f"({rule.ratify_within} s) and not ratified: {'; '.join(late.reasons)}")
    return found


def trust_changes(git: Git, heads: Sequence[str]) -> list[str]:
    """Pushed commits that change the trust files without an admin's signature: refused.

    Each pushed head's trust history is replayed as every clone replays it (``trustroot``);
    a change it would ignore, made by a commit this push brings, is refused here.
    """
    from ckptgit.governance import trustroot

    problems: list[str] = []
    for head in heads:
        new = set(git.out(["rev-list", head, "--not", "--all"]).split())
        if not new:
            continue
        replayed = trustroot.replay(git, head, "", head[:12])
        problems += [why for sha, why in zip(replayed.ignored, replayed.findings, strict=False)
                     if sha in new]
    return list(dict.fromkeys(problems))


# -- pre-push ----------------------------------------------------------------------------------
def pre_push(git: Git, remote: str, lines: Sequence[str], url: str | None = None) -> list[str]:
    """Pushed ckpt tags signed and reasoned; pushed checkpoints' bytes on the DVC remote."""
    from ckptgit.governance import pushset

    updates = pushset.parse_updates(lines)
    tags_pushed, problems = [], []
    for update in updates:
        short = update.remote_ref.removeprefix("refs/tags/")
        if update.remote_ref.startswith("refs/tags/") and governed(git, short):
            if update.local_sha == ZERO:
                problems.append(f"{short}: ckpt tags are never deleted")
            elif update.remote_sha != ZERO and update.remote_sha != update.local_sha:
                problems.append(f"{short}: ckpt tags are never moved or made again")
            else:
                tags_pushed.append((short, update.local_sha))
    if not any(u.local_sha != ZERO for u in updates):
        return problems
    from ckptgit.governance import trustroot

    trust = trustroot.load(git)
    if tags_pushed:
        from ckptgit.governance import requests

        tip = requests.trusted_rev(git, trust.config.governance.request_branch)
        problems += check_tags(git, tags_pushed, trust, tip=tip)
    if problems:
        return problems  # refused already: no need to ask the DVC remote (seconds) first
    # How bytes travel is this clone's choice (its own config): the server refuses refs ahead
    # of their bytes whatever a client says, so this is convenience, not trust.
    from ckptgit import config

    local = config.load(git.root)
    if local.push != "never":
        problems += _bytes_on_remote(git, remote, url, updates, local)
    return problems


def _bytes_on_remote(git: Git, remote: str, url: str | None,
                     updates: Sequence[pushset.Update], cfg: Config) -> list[str]:
    """Every save the push brings, whatever the refspec, has its artifact, companions and
    data inputs on a DVC remote teammates can reach."""
    from ckptgit.governance import pushset

    saves = pushset.saves_pushed(git, remote, updates)
    if not saves:
        return []
    local = pushset.machine_local_problem(git.root, url or remote, cfg.allow_local_remote)
    if local is not None:
        return [local]
    return pushset.ensure_on_remote(git.root, pushset.needed(git, saves), cfg.push)


# -- pre-receive -------------------------------------------------------------------------------
def pre_receive(git: Git, lines: Sequence[str], now: int | None = None) -> list[str]:
    """Server side: the tag checks against the server's trusted copy, tags never moved or
    deleted, protected branches fast-forward only, tagger dates near server time."""
    from ckptgit.errors import PolicyError
    from ckptgit.governance import trustroot

    trust = trustroot.server(git)
    if not trust.signers:
        raise PolicyError(trust.empty or "; ".join(trust.findings))
    from ckptgit import limits

    limits.activate(trust.config.limits)  # the server's limits, never the pusher's
    now = int(time.time()) if now is None else now
    protected = {f"refs/heads/{b}" for b in trust.config.governance.protected_branches}
    problems, created = [], []
    updates = hooklines.received(lines)  # unreadable lines are refused by the hook itself
    pushed = [u.new for u in updates if not u.deleted]
    if pushed:
        from ckptgit.governance import refused

        problems += refused.pushed(git, [*pushed, "--not", "--all"])
    for update in updates:
        old, new, ref = update.old, update.new, update.ref
        short = ref.removeprefix("refs/tags/")
        if ref.startswith("refs/tags/") and governed(git, short):
            if old != ZERO:
                verb = "deleted" if new == ZERO else "moved"
                problems.append(f"{short}: ckpt tags are never {verb}; record a new decision "
                                "with 'git ckpt revert' instead")
            else:
                created.append((short, new))
        elif ref in protected:
            if new == ZERO:
                problems.append(f"{ref}: a protected branch cannot be deleted")
            elif old != ZERO and not git.is_ancestor(old, new):
                problems.append(f"{ref}: protected branch, fast-forward only (this push rewrites "
                                "its history)")
    if created:
        branch = f"refs/heads/{trust.config.governance.request_branch}"
        pushed_tip = next((u.new for u in updates if u.ref == branch and not u.deleted), None)
        problems += check_tags(git, created, trust, now,
                               pushed_tip or git.rev_parse(f"{branch}^{{commit}}"))
    heads = [u.new for u in updates if not u.deleted and u.ref.startswith("refs/heads/")]
    problems += trust_changes(git, heads)
    if heads:
        from ckptgit.governance import signoff

        problems += signoff.fresh_statements(git, heads, now,
                                             trust.config.governance.tag_date_window)
    dvc_dir = git.git_dir / TRUSTED_DIR / "dvc"
    if problems:
        return problems  # refused already: no need to ask the DVC remote (seconds) first
    if trust.config.push != "never" and (dvc_dir / ".dvc").is_dir():
        problems += _server_bytes(git, dvc_dir, lines)
    return problems


def _server_bytes(git: Git, dvc_dir: Path, lines: Sequence[str]) -> list[str]:
    """Every checkpoint a push brings (new save commits under any ref, tagged ones) has its
    artifact, companions and data inputs on the DVC remote: a ref never lands on the server
    ahead of its data, even with client hooks skipped. Directories are checked through their
    listing on the remote (the server holds no cache)."""
    from ckptgit.governance import pushset

    updates = [pushset.Update("", u.new, u.ref, u.old) for u in hooklines.received(lines)]
    saves = pushset.saves_pushed(git, "", updates, exclude_all=True)
    if not saves:
        return []
    try:
        return pushset.ensure_on_remote(dvc_dir, pushset.needed(git, saves, dvc_dir), "server")
    except CkptError as exc:
        return [f"cannot check checkpoint bytes on the DVC remote ({exc}); refusing the push"]
