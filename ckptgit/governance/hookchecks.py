"""The checks behind the hooks: pre-commit, pre-push and the server's pre-receive.

Each returns a list of problems (one line each, naming the path or tag); an empty list lets
git go on. ``pre_commit`` is on every commit's path, so it imports nothing heavy until a
staged path actually concerns checkpoints.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ckptgit.errors import CkptError
from ckptgit.git import Git

ZERO = "0" * 40
SIDECAR_SUFFIX = ".ckpt.yaml"
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
    for meta, path in zip(fields[0::2], fields[1::2], strict=False):
        parts = meta.split()
        if len(parts) == 5 and parts[4] != "D":
            staged[path] = parts[3]
    sidecars = [p for p in staged if p.endswith(SIDECAR_SUFFIX)]
    weights = [p for p in staged if p.lower().endswith(WEIGHT_SUFFIXES)]
    if not sidecars and not weights:
        return []
    problems = _weights(git, {p: staged[p] for p in weights}) if weights else []
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
@dataclass(frozen=True)
class TagObject:
    name: str  # the name written inside the tag object
    tagger_time: int | None
    message: str
    signature: str  # "ssh", "pgp" or ""


def parse_tag_object(raw: bytes) -> TagObject | None:
    """An annotated tag object's fields; None for anything else (a lightweight tag's commit)."""
    text = raw.decode("utf-8", "replace")
    head, _, message = text.partition("\n\n")
    headers = dict(line.split(" ", 1) for line in head.splitlines() if " " in line)
    if not text.startswith("object ") or "tag" not in headers:
        return None
    when = None
    tagger = headers.get("tagger", "")
    stamp = tagger.rsplit(">", 1)[-1].split()
    if stamp and stamp[0].lstrip("-").isdigit():
        when = int(stamp[0])
    signature = ""
    for marker, kind in (("-----BEGIN SSH SIGNATURE-----", "ssh"),
                         ("-----BEGIN PGP SIGNATURE-----", "pgp")):
        if marker in message:
            message, signature = message.split(marker, 1)[0], kind
    return TagObject(headers["tag"], when, message, signature)


def is_ckpt_tag(name: str) -> bool:
    from ckptgit import tags

    return tags.parse(name) is not None or tags.parse_lock(name) is not None


@dataclass(frozen=True)
class Trust:
    """What a hook trusts: the rules and signers (a server's own copy, never the pushed ones)."""

    config: Any  # ckptgit.config.Config
    signers: str
    revoked: str | None


def check_tags(git: Git, pushed: Sequence[tuple[str, str]], trust: Trust,
               now: int | None = None) -> list[str]:
    """Problems of pushed ckpt tags ``(name, object id)``: kind, name, trailers, approvals,
    stage, tagger date (when ``now`` is given) and signature by a principal allowed there."""
    from ckptgit.governance import signing

    objects = git.cat_files([sha for _, sha in pushed])
    problems: list[str] = []
    by_principals: dict[tuple[str, ...], list[tuple[str, str]]] = {}
    for name, sha in pushed:
        found, principals = _tag_problems(name, objects.get(sha), trust, now)
        problems += [f"{name}: {p}" for p in found]
        if not found:
            by_principals.setdefault(principals, []).append((name, sha))
    for principals, group in by_principals.items():
        verdicts = signing.verify(git, [sha for _, sha in group], trust.signers, trust.revoked,
                                  principals)
        problems += [f"{name}: {verdicts[sha]}" for name, sha in group if verdicts[sha]]
    return problems


def _tag_problems(name: str, raw: bytes | None, trust: Trust,
                  now: int | None) -> tuple[list[str], tuple[str, ...]]:
    from ckptgit import tags
    from ckptgit.governance import trailers as tr

    obj = parse_tag_object(raw) if raw is not None else None
    if obj is None:
        return ["a lightweight tag; ckpt tags must be signed annotated tags "
                "('git ckpt promote')"], ()
    problems = []
    if obj.name != name:
        problems.append(f"the tag object is named {obj.name!r}: a tag cannot be renamed")
    if obj.signature != "ssh":
        problems.append("not signed" if not obj.signature else
                        "signed with OpenPGP; only SSH keys in allowed_signers are trusted")
    cfg = trust.config
    parsed, lock = tags.parse(name), tags.parse_lock(name)
    stage = parsed.stage if parsed else lock.stage if lock else None
    expected = (("promote", "revert") if parsed and parsed.kind == "assign"
                else (lock.kind,) if lock else (parsed.kind,) if parsed else ())
    approvals = 0
    principals: tuple[str, ...] = ()
    if stage is not None:
        if stage not in cfg.stages:
            problems.append(f"stage {stage!r} is not in the trusted config")
        else:
            rule = cfg.rule(stage)
            approvals = rule.approvals if parsed else 0
            principals = rule.signers
    trailers = tr.parse(obj.message)
    problems += tr.problems(trailers, expected, approvals)
    signed_by = trailers.get(tr.SIGNED_BY)
    if signed_by:
        if principals and signed_by not in principals:
            problems.append(f"Signed-By {signed_by} may not sign for stage {stage}")
        principals = (signed_by,)  # the signature must be that principal's own key
    for key, want in ((tr.STAGE, stage), (tr.NAME, parsed.name if parsed else None)):
        have = trailers.get(key)
        if want and have and have != want:
            problems.append(f"{key} says {have!r}, the tag name says {want!r}")
    window = cfg.governance.tag_date_window
    if now is not None and (obj.tagger_time is None or abs(now - obj.tagger_time) > window):
        problems.append(f"tagger date is {_skew(now, obj.tagger_time)} server time (allowed "
                        f"±{window} s): re-create the tag now")
    return problems, principals


def _skew(now: int, when: int | None) -> str:
    if when is None:
        return "missing, not within"
    delta = now - when
    return f"{abs(delta)} s {'behind' if delta > 0 else 'ahead of'}"


def repo_trust(root: Path) -> Trust:
    from ckptgit import config
    from ckptgit.governance import signing

    signers, revoked = signing.repo_trust(root)
    return Trust(config.load(root), signers, revoked)


# -- pre-push ----------------------------------------------------------------------------------
def pre_push(git: Git, remote: str, lines: Sequence[str]) -> list[str]:
    """Pushed ckpt tags signed and reasoned; pushed checkpoints' bytes on the DVC remote."""
    updates = [ln.split() for ln in lines if len(ln.split()) == 4]
    tags_pushed, heads, problems = [], [], []
    for local_ref, local_sha, remote_ref, _remote_sha in updates:
        short = remote_ref.removeprefix("refs/tags/")
        if remote_ref.startswith("refs/tags/") and is_ckpt_tag(short):
            if local_sha == ZERO:
                problems.append(f"{short}: ckpt tags are never deleted")
            else:
                tags_pushed.append((short, local_sha))
        elif local_sha != ZERO and local_ref.startswith("refs/heads/"):
            heads.append(local_sha)
    if not tags_pushed and not heads:
        return problems
    trust = repo_trust(git.root)
    if tags_pushed:
        problems += check_tags(git, tags_pushed, trust)
    if trust.config.push != "never":
        targets = [git.rev_parse(f"{sha}^{{commit}}") or sha for _, sha in tags_pushed]
        problems += _bytes_on_remote(git, remote, heads, targets, trust.config.push)
    return problems


def _bytes_on_remote(git: Git, remote: str, heads: list[str], tagged: list[str],
                     mode: str) -> list[str]:
    from ckptgit import replicas, storage

    saves = []
    if heads:
        saves += git.log_saves([*heads, "--not", f"--remotes={remote}"], ("Ckpt-Id",))
    if tagged:
        saves += git.log_saves(["--no-walk", *tagged], ("Ckpt-Id",))
    specs = sorted({f"{s.commit}:{f}" for s in saves for f in s.files if f.endswith(".dvc")})
    if not specs:
        return []
    pointers = {spec: storage.parse_pointer(raw)
                for spec, raw in git.cat_files(specs).items() if raw is not None}
    needed = {spec: storage.object_ids(git.root, p) for spec, p in pointers.items()}
    # every replica (the default remote and its mirrors) must hold them; auto pushes to all
    every = sorted({o for v in needed.values() for o in v})
    by_replica = replicas.sync(git.root, every, push=mode == "auto")
    missing = set().union(*by_replica.values())
    lacking = [spec for spec, oids in needed.items() if missing & set(oids)]
    hint = ("push them first: 'dvc push' (governance push: check)" if mode == "check"
            else "they are not in the local cache either; push from the machine that saved them")
    return [f"{spec.partition(':')[2]} at {spec[:12]}: bytes are not on the DVC remote; {hint}"
            for spec in lacking]


# -- pre-receive -------------------------------------------------------------------------------
def server_trust(git: Git) -> Trust:
    from ckptgit import config
    from ckptgit.errors import PolicyError

    base = git.git_dir / TRUSTED_DIR
    if not (base / "config.yaml").is_file() or not (base / "allowed_signers").is_file():
        raise PolicyError(f"this server has no trusted ckptgit rules in {base}: an admin runs "
                          "'git ckpt hooks install --server PATH' from a trusted checkout")
    revoked = base / "revoked_signers"
    return Trust(config.parse((base / "config.yaml").read_bytes(), "trusted config.yaml"),
                 (base / "allowed_signers").read_text(),
                 revoked.read_text() if revoked.is_file() else None)


def pre_receive(git: Git, lines: Sequence[str], now: int | None = None) -> list[str]:
    """Server side: the tag checks against the server's trusted copy, tags never moved or
    deleted, protected branches fast-forward only, tagger dates near server time."""
    trust = server_trust(git)
    now = int(time.time()) if now is None else now
    protected = {f"refs/heads/{b}" for b in trust.config.governance.protected_branches}
    problems, created = [], []
    for line in lines:
        parts = line.split()
        if len(parts) != 3:
            continue
        old, new, ref = parts
        short = ref.removeprefix("refs/tags/")
        if ref.startswith("refs/tags/") and is_ckpt_tag(short):
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
        problems += check_tags(git, created, trust, now)
    heads = [parts[1] for parts in (ln.split() for ln in lines)
             if len(parts) == 3 and parts[1] != ZERO and parts[2].startswith("refs/heads/")]
    dvc_dir = git.git_dir / TRUSTED_DIR / "dvc"
    if trust.config.push != "never" and (dvc_dir / ".dvc").is_dir() and (heads or created):
        problems += _server_bytes(git, dvc_dir, heads, [sha for _, sha in created])
    return problems


def _server_bytes(git: Git, dvc_dir: Path, heads: list[str], tag_objects: list[str]) -> list[str]:
    """Every checkpoint a push brings (new save commits, tagged ones) has its bytes on the DVC
    remote: a ref never lands on the server ahead of its data, even with client hooks skipped.
    Directories are checked by their listing object (the server holds no cache to read it)."""
    from ckptgit import storage

    saves = []
    if heads:
        saves += git.log_saves([*heads, "--not", "--all"], ("Ckpt-Id",))
    tagged = [git.rev_parse(f"{obj}^{{commit}}") or obj for obj in tag_objects]
    if tagged:
        saves += git.log_saves(["--no-walk", *tagged], ("Ckpt-Id",))
    specs = sorted({f"{s.commit}:{f}" for s in saves for f in s.files if f.endswith(".dvc")})
    pointers = {spec: storage.parse_pointer(raw)
                for spec, raw in git.cat_files(specs).items() if raw is not None}
    if not pointers:
        return []
    try:
        missing = set(storage.missing_on_remote(dvc_dir, sorted({p.md5 for p in
                                                                 pointers.values()})))
    except CkptError as exc:
        return [f"cannot check checkpoint bytes on the DVC remote ({exc}); refusing the push"]
    return [f"{spec.partition(':')[2]} at {spec[:12]}: bytes are not on the DVC remote; push "
            "them first ('dvc push' or 'git ckpt save --push')"
            for spec, p in pointers.items() if p.md5 in missing]


def install_server_trust(bare: Path, root: Path) -> list[str]:
    """Copy this checkout's rules and signers into ``bare`` as the server's trusted copy."""
    from ckptgit.governance import signing

    dest = bare / TRUSTED_DIR
    dest.mkdir(parents=True, exist_ok=True)
    copied = []
    for rel, name in ((".ckpt/config.yaml", "config.yaml"),
                      (signing.SIGNERS_PATH, "allowed_signers"),
                      (signing.REVOKED_PATH, "revoked_signers")):
        src = root / rel
        if src.is_file():
            tmp = dest / f".{name}.{os.getpid()}"
            tmp.write_bytes(src.read_bytes())
            os.replace(tmp, dest / name)
            copied.append(rel)
    from ckptgit import storage

    if storage.write_remote_config(dest / "dvc", root) is not None:
        copied.append("the DVC remote's address")
    return copied
