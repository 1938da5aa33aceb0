"""Records a push brings (sidecars and their pointers), held to the limits before they land.

A client can skip its own hooks (``git push --no-verify``); the server's ``pre-receive`` runs
this so no clone ever receives a sidecar that the readers (list, show, verify, audit) would
refuse: an alias bomb, a document nested without end, one over ``limits.sidecar_bytes``, or a
pointer whose md5 is not an md5 (it becomes a path in the cache and on the remote).
"""

from __future__ import annotations

from collections.abc import Sequence

from ckptgit import limits, sidecar, storage
from ckptgit.errors import CkptError
from ckptgit.git import Git

_POINTER = ".dvc"


def refused(git: Git, revs: Sequence[str]) -> list[str]:
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
    pointers = [(c, p) for c, p, _ in readable if p.endswith(_POINTER)]
    # only pointers of checkpoints: other .dvc files (a team's own `dvc add`) are DVC's
    beside = git.cat_files([f"{c}:{p.removesuffix(_POINTER)}{sidecar.SUFFIX}"
                            for c, p in pointers]) if pointers else {}
    blobs = git.cat_files([b for _, _, b in readable]) if readable else {}
    for commit, path, blob in readable:
        where = f"{path} at {commit[:12]}"
        raw = blobs.get(blob) or b""
        try:
            if path.endswith(sidecar.SUFFIX):
                sidecar.load(raw, where)
            elif beside.get(f"{commit}:{path.removesuffix(_POINTER)}{sidecar.SUFFIX}"):
                storage.parse_pointer(raw)
        except CkptError as exc:
            problems.append(f"{where}: {exc}; refused" if where not in str(exc)
                            else f"{exc}; refused")
    return problems
