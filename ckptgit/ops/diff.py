"""``git ckpt diff`` and ``ckptgit.diff``: two checkpoints compared section by section.

Everything but ``--weights`` works from the two sidecars (read in one ``cat-file --batch``,
parsed once with the C loader) and git itself; no weight bytes are read or downloaded.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ckptgit import sidecar, storage
from ckptgit.compare import distributions, metrics, sections, slices, tensors
from ckptgit.compare.result import SECTIONS, Diff, Side, WeightsDiff
from ckptgit.compare.settings import Settings, from_raw
from ckptgit.errors import IntegrityError, RefError, UsageError
from ckptgit.model import Checkpoint, Sidecar
from ckptgit.repo import Repo

SAVE_GREP = "^Ckpt-Id: "


def diff(a: str, b: str | None = None, *, weights: bool = False,
         only: Iterable[str] | None = None, repo: str | os.PathLike[str] = ".") -> Diff:
    """Compare checkpoint ``a`` (old) with ``b`` (new; default: the latest of a's name).

    The Python face of ``git ckpt diff``: returns the ``Diff`` value object, whose
    ``to_dict()`` is the JSON that ``--format json`` prints.
    """
    return compare(Repo.open(repo), a, b, weights=weights, only=only)


def compare(repo: Repo, ref_a: str, ref_b: str | None = None, *, weights: bool = False,
            only: Iterable[str] | None = None) -> Diff:
    wanted = requested(only, weights)
    a, b = pair(repo, ref_a, ref_b)
    doc_a, doc_b = load_sidecars(repo, [a, b])
    settings = from_raw(repo.config.raw)
    built: dict[str, Any] = {}
    for name in wanted:
        if name == "weights":
            built[name] = weights_diff(repo, a, b, doc_a, doc_b)
        else:
            built[name] = _BUILDERS[name](repo, doc_a, doc_b, (a, b), settings)
    warned = _eval_data(repo, a, b, doc_a, doc_b) if "metrics" in wanted else []
    return Diff(side(a, doc_a), side(b, doc_b), built, tuple(warned))


def _eval_data(repo: Repo, a: Checkpoint, b: Checkpoint, doc_a: Sidecar,
               doc_b: Sidecar) -> list[dict[str, Any]]:
    """Metrics compared across different evaluation data: warned about, or refused."""
    from ckptgit.compare import evaldata

    found = evaldata.compare(a.short_id, doc_a, b.short_id, doc_b)
    how = evaldata.mode(repo.config.raw)
    judged = evaldata.judge(found, how, f"diff {a.short_id} {b.short_id}")
    return [m.to_dict() for m in judged]


def requested(only: Iterable[str] | None, weights: bool) -> list[str]:
    names = [s.strip() for item in (only or ()) for s in item.split(",") if s.strip()]
    unknown = [s for s in names if s not in SECTIONS]
    if unknown:
        raise UsageError(f"unknown section {unknown[0]!r}; sections: {', '.join(SECTIONS)}")
    if "weights" in names and not weights:
        weights = True
    chosen = set(names) if names else set(SECTIONS)
    return [s for s in SECTIONS if s in chosen and (s != "weights" or weights)]


def pair(repo: Repo, ref_a: str, ref_b: str | None) -> tuple[Checkpoint, Checkpoint]:
    """B defaults to the latest of A's name; when A is that latest, A becomes its parent."""
    a = repo.resolve(ref_a)
    if ref_b is not None:
        return a, repo.resolve(ref_b)
    latest = repo.resolve(a.name)
    if latest.id == a.id and a.parent:
        try:
            return repo.resolve(a.parent), a
        except RefError:
            return a, a  # the parent is not in this history: nothing to compare against
    return a, latest


def load_sidecars(repo: Repo, ckpts: list[Checkpoint]) -> list[Sidecar]:
    """The sidecars of ``ckpts``, each parsed once per Repo (``sidecar.load_saved``: on every
    core when there are many): a sidecar at a commit never changes, and one of 1,000 tensors
    takes ~0.05 s to parse (review reads each several times: diff, check, gates)."""
    parsed: dict[str, Sidecar] = repo.__dict__.setdefault("_sidecars", {})
    missing = list({f"{c.commit}:{c.sidecar_path}": c for c in ckpts
                    if f"{c.commit}:{c.sidecar_path}" not in parsed}.items())
    if missing:
        found = sidecar.load_saved(repo.git, [c for _, c in missing])
        parsed.update(zip((spec for spec, _ in missing), found, strict=True))
    return [parsed[f"{c.commit}:{c.sidecar_path}"] for c in ckpts]


def side(ckpt: Checkpoint, doc: Sidecar) -> Side:
    return Side(ckpt.id, ckpt.name, ckpt.commit, ckpt.created_at, doc.step,
                str(doc.artifact.sha256))


Builder = Callable[[Repo, Sidecar, Sidecar, tuple[Checkpoint, Checkpoint], Settings], Any]


def _code(repo: Repo, a: Sidecar, b: Sidecar,
          _c: tuple[Checkpoint, Checkpoint], _s: Settings) -> Any:
    def numstat(old: str, new: str) -> list[tuple[str, int | None, int | None]]:
        # files that only checkpoint saves touched (pointers, sidecars, dvc.yaml's artifact
        # entry, .gitignore lines) are bookkeeping, not code
        code_paths = repo.git.paths_changed(old, new, SAVE_GREP)
        return [row for row in repo.git.diff_numstat(old, new) if row[0] in code_paths]

    return sections.code(a, b, numstat, lambda x, y: repo.git.count_between(x, y, SAVE_GREP))


_BUILDERS: dict[str, Builder] = {
    "metrics": lambda r, a, b, _c, _s: metrics.compare(a.metrics, b.metrics,
                                                       r.config.metric_goals),
    "params": lambda _r, a, b, _c, _s: sections.params(a, b),
    "seeds": lambda _r, a, b, _c, _s: sections.seeds(a, b),
    "data": lambda _r, a, b, _c, _s: sections.data(a, b),
    "code": _code,
    "environment": lambda _r, a, b, _c, _s: sections.environment(a, b),
    "tensors": lambda _r, a, b, _c, _s: tensors.compare(a, b),
    "distributions": lambda _r, a, b, _c, s: distributions.compare(
        a.distributions, b.distributions, s.js_distance, s.ece_delta),
    "slices": lambda r, a, b, _c, _s: slices.compare(a.slices, b.slices,
                                                    r.config.metric_goals),
}


# -- --weights: bytes from the cache, the workspace or the remote, sealed -------------------
def weights_diff(repo: Repo, a: Checkpoint, b: Checkpoint,
                 doc_a: Sidecar, doc_b: Sidecar) -> WeightsDiff:
    from ckptgit.compare import weights

    kinds = {doc.artifact.kind for doc in (doc_a, doc_b)}
    if kinds == {"directory"}:
        from ckptgit.compare import shards

        jobs = os.cpu_count() or 1
        return shards.compare(shards.from_checkpoint(repo.root, a, doc_a, jobs),
                              shards.from_checkpoint(repo.root, b, doc_b, jobs),
                              repo.config.max_header_bytes, jobs)
    for ckpt, doc in ((a, doc_a), (b, doc_b)):
        art = doc.artifact
        if art.kind == "directory" or art.format != "safetensors":
            raise UsageError(f"--weights compares two safetensors files or two directories of "
                             f"shards; {ckpt.name} "
                             f"({ckpt.short_id}) is {art.format or 'unknown'}")
    seal = {"a": doc_a.artifact.sha256, "b": doc_b.artifact.sha256}
    src = {"a": source(repo, a), "b": source(repo, b)}
    try:
        return _sealed_compare(repo, src, seal)
    except weights.SealError as exc:
        # a workspace file of the right size may hold another save: use the stored bytes
        retry = {s for s in exc.sides if src[s][0] == "workspace"}
        if retry != exc.sides:
            raise IntegrityError(f"{exc}: the DVC cache object is corrupt; remove it and "
                                 "fetch it again ('dvc fetch')") from exc
        for s, ckpt in (("a", a), ("b", b)):
            if s in retry:
                src[s] = ("cache", stored_bytes(repo, ckpt))
        return _sealed_compare(repo, src, seal)


def _sealed_compare(repo: Repo, src: dict[str, tuple[str, Path]],
                    seal: dict[str, str]) -> WeightsDiff:
    """Compare, hashing only the files not already verified unchanged since their last hash."""
    from ckptgit.compare import weights
    from ckptgit.compare.seals import Seals, identity

    seen = Seals(repo.git.ckpt_dir)
    verify = tuple(s for s in ("a", "b") if not seen.known(src[s][1], seal[s]))
    before = {s: identity(src[s][1]) for s in verify}
    result = weights.compare(src["a"][1], src["b"][1], seal["a"], seal["b"],
                             repo.config.max_header_bytes, verify)
    for s in verify:  # reached only when every hashed side matched its seal
        seen.record(src[s][1], seal[s], before[s])
    if verify:
        seen.save()
    return result


def source(repo: Repo, ckpt: Checkpoint) -> tuple[str, Path]:
    """Where to read a checkpoint's bytes without downloading, verified later by its seal.

    The cache first: it is addressed by content, so it holds this save's bytes unless
    corrupted. The workspace file only when its size matches: it may hold a later save.
    """
    pointer = storage.Pointer(ckpt.md5, ckpt.size, ckpt.path)
    if not storage.missing_objects(repo.root, pointer):
        return "cache", storage.object_path(repo.root, ckpt.md5)
    work = repo.root / ckpt.path
    if work.is_file() and work.stat().st_size == ckpt.size:
        return "workspace", work
    return "cache", stored_bytes(repo, ckpt)


def stored_bytes(repo: Repo, ckpt: Checkpoint) -> Path:
    """The cache object of ``ckpt``, fetched from the DVC remote when missing."""
    pointer = storage.Pointer(ckpt.md5, ckpt.size, ckpt.path)
    storage.ensure_cached(repo.root, pointer, ckpt.dvcfile, ckpt.commit,
                          f"{ckpt.name} ({ckpt.short_id})")  # verified; the remote untouched
    return storage.object_path(repo.root, ckpt.md5)
