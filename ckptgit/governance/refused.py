"""Records no reader accepts: what a push brings, held to the limits before it lands, and
save commits already in history whose record is refused.

A client can skip its own hooks (``git push --no-verify``); the server's ``pre-receive`` runs
this so no clone ever receives a sidecar that the readers (list, show, verify, audit) would
refuse: an alias bomb, a document nested without end, one over ``limits.sidecar_bytes``, or a
pointer whose md5 is not an md5 (it becomes a path in the cache and on the remote).
"""

from __future__ import annotations

from collections.abc import Sequence

from ckptgit import limits, loader, sidecar, storage
from ckptgit.errors import CkptError
from ckptgit.git import Git

_POINTER = ".dvc"


def pushed(git: Git, revs: Sequence[str]) -> list[str]:
    """One line per record in the commits ``revs`` selects that a reader would refuse."""
    cap = limits.active().sidecar_bytes
    found = git.new_blobs(revs, ["*" + sidecar.SUFFIX, "*" + _POINTER])
    problems: list[str] = []
    readable = []
    for commit, path, blob, size in found:
        if size > cap:
            problems.append(f"{path} at {commit[:12]}: {size:,} bytes, over the limit of "
                            f"{cap:,} (limits.sidecar_bytes); refused")
        else:
            readable.append((commit, path, blob))
    blobs = git.cat_files([b for _, _, b in readable]) if readable else {}
    for commit, path, blob in readable:
        where = f"{path} at {commit[:12]}"
        raw = blobs.get(blob) or b""
        try:
            if path.endswith(sidecar.SUFFIX):
                sidecar.load(raw, where)
            else:
                _pointer_ids(raw, where)
        except CkptError as exc:
            problems.append(f"{where}: {exc}; refused" if where not in str(exc)
                            else f"{exc}; refused")
    return problems


def _pointer_ids(raw: bytes, where: str) -> None:
    """Any ``.dvc`` file, of a checkpoint, a companion or a team's own ``dvc add``: within the
    limits, and every md5 it names an md5 (each becomes a path in a cache or on a remote).
    Shapes DVC has and ckptgit does not read (no ``outs``, other hash kinds) pass."""
    data = loader.load_yaml(raw, where)
    outs = data.get("outs") if isinstance(data, dict) else None
    for out in outs if isinstance(outs, list) else []:
        if isinstance(out, dict) and "md5" in out:
            storage.check_oid(str(out["md5"]), f"{where}: md5")


def saves(git: Git, known: set[str]) -> list[tuple[str, int, str]]:
    """``(commit, commit time, why)`` for each save commit on HEAD whose record no reader accepts.

    The checkpoint index skips such commits (with a warning when a limit refused them), so
    without this they would vanish from ``verify`` instead of being reported by their id.
    """
    head = git.head()
    if head is None:
        return []
    saves = [e for e in git.log_saves([head], ("Ckpt-Id",)) if e.commit not in known]
    when = {e.commit: e.committed_at for e in saves}
    specs = {e.commit: next((f"{e.commit}:{f}" for f in e.files
                             if f.endswith(sidecar.SUFFIX)), None) for e in saves}
    blobs = git.cat_files([s for s in specs.values() if s])
    found = []
    for commit, spec in specs.items():
        if spec is None or blobs.get(spec) is None:
            continue  # a commit that only mentions the trailer: not a save
        try:
            sidecar.load(blobs[spec] or b"", spec.replace(commit, commit[:12], 1))
        except CkptError as exc:
            found.append((commit, when[commit], str(exc)))
    return found
