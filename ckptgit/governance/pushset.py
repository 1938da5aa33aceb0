"""What a push must carry to the DVC remote: every save it brings, whatever the refspec.

git hands the pre-push hook one line per updated ref (``<local ref> <local sha> <remote ref>
<remote sha>``). The local side may be a branch, ``HEAD``, a bare sha, a tag (annotated or
not) or anything ``--all``/``--mirror`` lists, so nothing here looks at ref names: every
pushed object is peeled to its commit, and the saves are the commits not yet on the remote
(not reachable from its tracking refs nor from the shas the remote already has), plus every
commit a pushed tag names. A save needs its artifact, its companions (``--with``) and its data
inputs (``--data``) on the DVC remote; a ref must never arrive ahead of its bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ckptgit import hooklines, replicas, sidecar, storage
from ckptgit.errors import CkptError
from ckptgit.git import Git, LogEntry

ZERO = "0" * 40
FIX_REMOTE = "git ckpt remote add URL"


@dataclass(frozen=True)
class Update:
    """One line of pre-push's stdin."""

    local_ref: str
    local_sha: str
    remote_ref: str
    remote_sha: str

    @classmethod
    def parse(cls, line: str) -> Update | None:
        parts = hooklines.fields(line, 4)  # one space apart: a ref name may hold NBSP
        return cls(*parts) if parts is not None else None


@dataclass(frozen=True)
class Needed:
    """Objects one recorded thing needs on the remote, and how to name it to the user."""

    what: str
    oids: tuple[str, ...]


def parse_updates(lines: Sequence[str]) -> list[Update]:
    return [u for u in (Update.parse(ln) for ln in lines) if u is not None]


def saves_pushed(git: Git, remote: str, updates: Sequence[Update],
                 exclude_all: bool = False) -> list[LogEntry]:
    """Save commits a push brings: new history under every pushed ref, and tagged saves.

    A client excludes what the remote's tracking refs hold; a server (``exclude_all``) what
    its own refs hold already.
    """
    created = [u for u in updates if u.local_sha != ZERO]
    peeled = git.peel_commits([u.local_sha for u in created]
                              + [u.remote_sha for u in created if u.remote_sha != ZERO])
    tips = sorted({c for u in created if (c := peeled.get(u.local_sha))})
    if not tips:
        return []
    known = sorted({c for u in created if u.remote_sha != ZERO
                    and (c := peeled.get(u.remote_sha))})
    have = "--all" if exclude_all else f"--remotes={remote}"
    found = {e.commit: e for e in git.log_saves([*tips, "--not", have, *known], ("Ckpt-Id",))}
    tagged = sorted({c for u in created if u.remote_ref.startswith("refs/tags/")
                     and (c := peeled.get(u.local_sha)) and c not in found})
    if tagged:
        found.update({e.commit: e for e in git.log_saves(["--no-walk", *tagged],
                                                         ("Ckpt-Id",))})
    return list(found.values())


def needed(git: Git, saves: Sequence[LogEntry], root: Path | None = None) -> list[Needed]:
    """Artifact, companions and data inputs of each save, as object ids (a directory's files
    too when its listing is in the cache of ``root``, the repository's by default)."""
    root = git.root if root is None else root
    pointer_specs = sorted({f"{s.commit}:{f}" for s in saves for f in s.files
                            if f.endswith(".dvc")})
    sidecar_specs = sorted({f"{s.commit}:{f}" for s in saves for f in s.files
                            if f.endswith(sidecar.SUFFIX)})
    blobs = git.cat_files(pointer_specs + sidecar_specs)
    out: list[Needed] = []
    for spec in pointer_specs:
        raw = blobs.get(spec)
        if raw is None:
            continue
        pointer = storage.parse_pointer(raw)
        rev, _, path = spec.partition(":")
        out.append(Needed(f"{path} at {rev[:12]}",
                          tuple(storage.object_ids(root, pointer))))
    for spec in sidecar_specs:
        raw = blobs.get(spec)
        if raw is None:
            continue
        rev, _, path = spec.partition(":")
        out += _data_inputs(root, sidecar.load(raw, spec), rev)
    return out


def _data_inputs(root: Path, doc: dict[str, object], rev: str) -> list[Needed]:
    # training inputs and the evaluation data of its metrics travel with the checkpoint
    entries: list[object] = []
    for key in ("data", "eval_data"):
        given = doc.get(key)
        entries += given if isinstance(given, list) else []
    found = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("md5"), str):
            continue
        pointer = storage.Pointer(entry["md5"], None, str(entry.get("path", "")))
        found.append(Needed(f"data input {pointer.path} of the save at {rev[:12]}",
                            tuple(storage.object_ids(root, pointer))))
    return found


def ensure_on_remote(root: Path, wanted: Sequence[Needed], mode: str) -> list[str]:
    """Push what each replica (the default remote and every mirror) lacks (``auto``) or only
    report it (``check``, ``server``); the problems left.

    A directory whose listing is not in the local cache is checked through the remote's own
    copy of the listing, so its files are never taken on trust.
    """
    if not wanted:
        return []
    wanted = [_complete(root, n) for n in wanted]
    every = sorted({o for n in wanted for o in n.oids})
    found = replicas.replicas(root)
    names: list[str | None] = [r.name for r in found] or [None]
    default = {r.name for r in found if r.default}
    for name in names:  # imports on this thread: a worker that imports can hang Ctrl-C
        storage.preload_remote(root, name)

    def one(name: str | None) -> list[str]:
        where = "the DVC remote" if name is None or name in default else \
            f"the DVC remote {name!r} (a mirror)"
        try:
            return _on_replica(root, wanted, every, mode, name, where)
        except CkptError as exc:  # one replica down: say which, and let the others finish
            named = f"the DVC remote {name!r}" if name in default else where
            return [f"{named} cannot be reached or written: {exc}"]

    if len(names) == 1:
        return one(names[0])
    # every replica asked and written at once, as 'save --push' does (replicas.push); the
    # problems in replica order
    with ThreadPoolExecutor(len(names), thread_name_prefix="ckpt-replica") as pool:
        return [problem for found_there in pool.map(one, names) for problem in found_there]


def _on_replica(root: Path, wanted: Sequence[Needed], every: list[str], mode: str,
                name: str | None, where: str) -> list[str]:
    missing = set(storage.missing_on_remote(root, every, name))
    if not missing:
        return []
    hint = "push them first: 'dvc push' (push: check in .ckpt/config.yaml)"
    if mode == "server":
        hint = "push them first ('dvc push' or 'git ckpt save --push')"
    elif mode == "auto":
        missing = set(storage.push_objects(root, sorted(missing), name, lacking=True))
        hint = ("they are not in the local cache either; push from the machine that saved "
                "them ('dvc push')")
    return [f"{n.what}: bytes are not on {where} ({len(missing & set(n.oids))} "
            f"object(s), e.g. {sorted(missing & set(n.oids))[0]}); {hint}"
            for n in wanted if missing & set(n.oids)]


def _complete(root: Path, n: Needed) -> Needed:
    """A directory's file objects, from its listing in the cache or else on the remote."""
    if len(n.oids) != 1 or not n.oids[0].endswith(".dir"):
        return n
    try:
        children = storage.remote_dir_entries(root, n.oids[0])
    except CkptError:
        return n
    return Needed(n.what, (n.oids[0], *children))


# -- where the bytes go ---------------------------------------------------------------------
def is_local_url(url: str) -> bool:
    """A filesystem path or ``file://`` URL: reachable only from this machine."""
    if url.startswith("file://") or url.startswith(("/", ".", "~")):
        return True
    scheme, sep, _ = url.partition("://")
    if sep:
        return scheme.lower() in ("file", "local")
    # git's scp-like "host:path" is ssh; a bare relative path has no colon before a slash
    head = url.split("/", 1)[0]
    return ":" not in head


def machine_local_problem(root: Path, git_url: str | None, allowed: bool) -> str | None:
    """Refusal when commits go to a shared git remote but the bytes to this machine only."""
    if allowed or not git_url or is_local_url(git_url):
        return None
    dvc_url = storage.remote_url(root)
    if dvc_url is None:
        return (f"no DVC remote is configured, so teammates who clone {git_url} cannot fetch "
                f"the checkpoints' bytes: run '{FIX_REMOTE}' with a shared store "
                "(s3://…, ssh://…)")
    if not is_local_url(dvc_url):
        return None
    return (f"the DVC remote {dvc_url} is a directory on this machine, so teammates who clone "
            f"{git_url} cannot fetch the checkpoints' bytes: run '{FIX_REMOTE}' with a shared "
            "store (s3://…, ssh://…), or set 'allow_local_remote: true' in .ckpt/config.yaml "
            "if everyone shares this filesystem")
