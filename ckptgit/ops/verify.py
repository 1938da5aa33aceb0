"""``git ckpt verify``: every checkpoint is exactly what its save recorded.

Per checkpoint, from the commit that saved it: the sidecar loads and matches its schema, the
DVC pointer names the bytes the sidecar sealed, and the bytes hash to the seal (sha256; for a
directory, the seal of its sorted per-file manifest). Bytes are read where they are: the work
tree when it claims to hold this checkpoint, the cache, and the DVC remote only when the cache
lacks them (never with ``offline``). Remote bytes are hashed as they stream and never written to
the cache, so a corrupt remote object cannot plant itself locally. Then history: a commit that
rewrote a saved sidecar or pointer without being a new save is a finding.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ckptgit import hashing, refs, sidecar, storage
from ckptgit.errors import CkptError
from ckptgit.integrity import digest, parsecache
from ckptgit.integrity import records as recordlog
from ckptgit.integrity.findings import Finding, Report, Status
from ckptgit.model import Checkpoint
from ckptgit.repo import Repo


@dataclass
class _Plan:
    """The files to hash for one checkpoint at one place, and what their seal must be."""

    status: Status
    source: str
    where: str
    files: dict[str, digest.Job]  # relpath ("" for a single file) -> job
    extra: list[str] = field(default_factory=list)  # work-tree files the checkpoint lacks
    missing: list[str] = field(default_factory=list)  # checkpoint files the work tree lacks
    md5s: dict[str, str] = field(default_factory=dict)  # relpath -> md5 the pointer expects
    seal: str = ""


def verify(
    repo: Repo,
    refs: list[str] | None = None,
    *,
    offline: bool = False,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
    records_only: bool = False,
) -> Report:
    """``records_only``: check records, schema and history but hash no bytes (fast)."""
    entries = repo.checkpoints()
    targets = _dedupe(_resolve_all(repo, refs, entries)) if refs else list(entries)
    statuses = [Status(c) for c in targets]
    _mark_pruned(repo, statuses)
    report = Report(statuses)
    with ThreadPoolExecutor(2, thread_name_prefix="ckpt-verify") as pool:
        # The two walks of history are git's work: they run on another core while this
        # process reads and parses the records (about 1.5 s of git at 10,000 saves).
        edits = pool.submit(recordlog.edits, repo.git, entries)
        refused = None if refs else pool.submit(_refused_saves, repo, entries)
        records = _records(repo, statuses)
        if refused is not None:
            report.extra += refused.result()
        report.edits = edits.result()
    _check_history(repo, entries, statuses, report, records)
    if records_only:
        return report
    with ExitStack() as stack:
        remote = _Lazy(lambda: stack.enter_context(storage.remote_store(repo.root)))
        plans: list[_Plan] = []
        cache = storage.cache_root(repo.root)  # once: finding it stats DVC's 4 config files
        worktree: dict[str, str | None] = {}  # pointer path -> what the work tree's names
        for status in statuses:
            if status.ckpt.id in records and not status.pruned:
                plans += _plan(repo, status, records[status.ckpt.id], offline, remote, cache,
                               worktree)
        if on_total:
            on_total(sum(j.size for p in plans for j in p.files.values()))
        seals = frozenset(c.sha256 for c in entries)
        report.bytes_hashed = _run(plans, workers, progress, seals)
        for status in statuses:
            if not status.findings and not status.verified_from:
                status.unverifiable = True  # only the work tree was read, and it holds another
        for plan in plans:
            if plan.source == "cache" and plan.status.findings:
                _explain_cache(repo.root, plan)
    return report


def _refused_saves(repo: Repo, entries: list[Checkpoint]) -> list[Finding]:
    from ckptgit.governance import refused

    return [Finding(f"commit {commit[:12]}", "record", f"save refused: {why}")
            for commit, _, why in refused.saves(repo.git, {c.commit for c in entries})]


def _resolve_all(repo: Repo, given: list[str], entries: list[Checkpoint]) -> list[Checkpoint]:
    """Each ref against one listing (audit hands in every id: one index load, not one each)."""
    by_id = {c.id: c for c in entries}
    return [by_id[r] if r in by_id else refs.resolve(repo.git, r, entries) for r in given]
def _mark_pruned(repo: Repo, statuses: list[Status]) -> None:
    """Checkpoints whose bytes retention removed: their records are still checked, their
    bytes are not looked for (``git ckpt prune``)."""
    from ckptgit.ops.prune import pruned

    marks = pruned(repo)
    for s in statuses:
        mark = marks.get(s.ckpt.id)
        if mark is not None:
            s.pruned = True
            s.notes.append(f"bytes pruned on {mark.when} by retention rule {mark.rule}")


def verify_everything(
    repo: Repo,
    refs: list[str] | None = None,
    *,
    offline: bool = False,
    workers: int | None = None,
    oms_key: str | None = None,
    oms: bool = False,
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> Report:
    """``git ckpt verify``: the checkpoints, then the trust root, forged saves and every
    decision tag (of the names of ``refs``, else all) as the one verifier judges them, then
    (with ``oms``) the OpenSSF model-signing bundles."""
    report = verify(repo, refs, offline=offline, workers=workers, progress=progress,
                    on_total=on_total)
    from ckptgit.integrity import tagcheck

    names = sorted({s.ckpt.name for s in report.checkpoints}) if refs else None
    seen = frozenset(f.subject.removeprefix("commit ")[:12] for f in report.extra
                     if f.kind == "forged-save")
    report.extra += tagcheck.findings(repo, names, seen)
    if not refs:
        report.extra += _uncovered_models(repo)
    if oms:
        from ckptgit.ops import sign

        report.extra += sign.verify_all(repo, [s.ckpt for s in report.checkpoints], oms_key)
    return report


def _uncovered_models(repo: Repo) -> list[Finding]:
    """Models tracked by DVC at HEAD without a sidecar (docs/policy.md#coverage)."""
    from ckptgit.policy import coverage

    head = repo.git.head()
    if head is None:
        return []
    return [Finding(path, "coverage", coverage.message(path))
            for path in coverage.in_tree(repo.git, head, coverage.patterns(repo.config.raw))]


def _dedupe(found: list[Checkpoint]) -> list[Checkpoint]:
    seen: dict[str, Checkpoint] = {}
    for c in found:
        seen.setdefault(c.id, c)
    return list(seen.values())


class _Lazy:
    """The DVC remote is opened (a DVC repo instance) only when some bytes need it."""

    def __init__(self, make: Callable[[], storage.RemoteStore | None]) -> None:
        self._make, self._done = make, False
        self._value: storage.RemoteStore | None = None

    def get(self) -> storage.RemoteStore | None:
        if not self._done:
            self._value, self._done = self._make(), True
        return self._value


# -- records (sidecar and pointer at the save commit) ----------------------------------------
@dataclass(frozen=True)
class _Record:
    pointer: storage.Pointer
    seal: str
    oid: str  # the sidecar as saved: its blob id
    doc: dict[str, Any]  # ... parsed, on the current schema (what verify and audit read)


def _records(repo: Repo, statuses: list[Status]) -> dict[str, _Record]:
    """Each save's sidecar and pointer, parsed and schema-checked.

    Sidecars are looked up by blob id first (one ``--batch-check``): a blob parsed by an
    earlier run is not read or parsed again (``parsecache``); only new ones are.
    """
    side_specs = [f"{s.ckpt.commit}:{s.ckpt.sidecar_path}" for s in statuses]
    with ThreadPoolExecutor(1, thread_name_prefix="ckpt-pointers") as pool:
        # the pointers are read by one git while another looks up the sidecars' blob ids,
        # and then while the workers read and check the new sidecars (``check_stored``: the
        # texts go from git to the workers, not through this process), each blob once
        pointers = pool.submit(repo.git.cat_files,
                               [f"{s.ckpt.commit}:{s.ckpt.dvcfile}" for s in statuses])
        oids = repo.git.object_ids(side_specs)
        cached = parsecache.ParseCache(repo.git.ckpt_dir)
        known = {spec: hit for spec in side_specs if (hit := cached.get(oids.get(spec)))}
        fresh = list(dict.fromkeys(oid for spec in side_specs
                                   if spec not in known and (oid := oids.get(spec))))
        checked = dict(zip(fresh, sidecar.check_stored(repo.git, fresh, parsecache.reduced),
                           strict=True))
        blobs = pointers.result()
    for oid, result in checked.items():
        cached.put(oid, result)
    cached.save()
    for spec in side_specs:
        oid = oids.get(spec)
        if spec not in known and oid in checked:
            known[spec] = checked[oid]
    found: list[tuple[Status, str, bytes]] = []
    for s, spec in zip(statuses, side_specs, strict=True):
        c = s.ckpt
        raw_ptr = blobs.get(f"{c.commit}:{c.dvcfile}")
        if oids.get(spec) is None or raw_ptr is None:
            missing = c.sidecar_path if oids.get(spec) is None else c.dvcfile
            s.add("record", f"save commit {c.commit[:12]} lacks {missing}")
            continue
        found.append((s, spec, raw_ptr))
    out = {}
    for s, spec, raw_ptr in found:
        record = _check_record(s, str(oids[spec]), raw_ptr, known[spec])
        if record is not None:
            out[s.ckpt.id] = record
    return out


def _check_record(s: Status, oid: str, raw_ptr: bytes,
                  checked: sidecar.Checked) -> _Record | None:
    try:
        if checked.doc is None:
            raise CkptError(checked.error or "not a sidecar")
        doc = checked.doc
        pointer = storage.parse_pointer(raw_ptr)
    except CkptError as exc:
        s.add("record", f"unreadable record at save commit {s.ckpt.commit[:12]}: {exc}")
        return None
    problems = checked.problems
    if problems:
        more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        s.add("schema", f"sidecar does not match the schema: {problems[0]}{more}")
    art = doc.get("artifact") or {}
    seal, md5 = str(art.get("sha256", "")), str(art.get("md5", ""))
    if pointer.md5 != md5:
        s.add("record", f"{s.ckpt.dvcfile} names object {pointer.md5} but the sidecar sealed "
                        f"md5 {md5}")
    if pointer.size is not None and art.get("size") is not None and pointer.size != art["size"]:
        s.add("record", f"{s.ckpt.dvcfile} says {pointer.size} bytes, the sidecar {art['size']}")
    if doc.get("id") != s.ckpt.id:
        s.add("record", f"sidecar id {doc.get('id')} is not the saved id {s.ckpt.id}")
    s.record = doc
    try:  # what readers downstream (report, audit) use; a malformed one is a finding above
        s.value = sidecar.value_of(doc, s.subject)
    except CkptError:
        s.value = None
    return _Record(pointer, seal, oid, doc)


def _check_history(repo: Repo, entries: list[Checkpoint], statuses: list[Status],
                   report: Report, records: dict[str, _Record]) -> None:
    by_id = {s.ckpt.id: s for s in statuses}
    by_path: dict[str, list[Status]] = {}
    for s in statuses:
        by_path.setdefault(s.ckpt.path, []).append(s)
    seen_ids: dict[str, str] = {}
    for c in sorted(entries, key=lambda c: c.created_at):
        if c.id in seen_ids and c.id in by_id:
            by_id[c.id].add("edit", f"commit {c.commit[:12]} reuses the id of save "
                                    f"{seen_ids[c.id][:12]}: an edit dressed as a save")
        seen_ids.setdefault(c.id, c.commit)
    edited_paths = set()
    from ckptgit import index

    forged = {f.commit: f for f in index.forgeries(repo.git)}
    for edit in report.edits:
        what = "; ".join(edit.changes) or "contents changed"
        if edit.commit in forged:  # blame the forger, not the save it imitates
            f = forged[edit.commit]
            report.extra.append(Finding(f"commit {edit.commit[:12]}", "forged-save",
                                        f"claims to save {f.name} {f.id[:8]} but {f.reason} "
                                        f"({edit.path}: {what})"))
            edited_paths.add(edit.path)
            continue
        message = (f"{edit.path} was changed after its save by commit {edit.commit[:12]}, "
                   f"which is not a save: {what}")
        target = by_id.get(edit.ckpt.id) if edit.ckpt else None
        if target is not None:
            target.add("edit", message)
        elif len(statuses) == len(entries) or _artifact_of(edit.path) in by_path:
            report.extra.append(Finding(edit.path, "edit", message))
        edited_paths.add(edit.path)
    _check_worktree_records(repo, by_path, edited_paths, records)


def _artifact_of(record: str) -> str:
    return record.removesuffix(".dvc").removesuffix(sidecar.SUFFIX)


def _check_worktree_records(repo: Repo, by_path: dict[str, list[Status]], edited: set[str],
                            records: dict[str, _Record]) -> None:
    """A work-tree sidecar of the same id as a checkpoint's, with other contents.

    Each work-tree sidecar is read and parsed once and compared only with the saves of its own
    id (the records were parsed already): a path saved 10,000 times costs one parse, not 10,000.
    """
    for path, group in by_path.items():
        side = repo.root / sidecar.path_for(path)
        if sidecar.path_for(path) in edited or not side.is_file():
            continue
        raw = side.read_bytes()
        oid = parsecache.blob_id(raw)  # once, not once per save of the path
        new: dict[str, Any] | None = None
        for s in group:
            rec = records.get(s.ckpt.id)
            if rec is None or oid == rec.oid:
                continue
            if new is None:
                # by meaning: a work tree migrated by 'git ckpt migrate' is not an edit
                new = recordlog.normalized(raw)
            if new.get("id") != s.ckpt.id:
                continue
            saved = sidecar.load(repo.git.cat_files([rec.oid])[rec.oid] or b"")  # in full
            if not recordlog.annotation_only(saved, new):
                what = "; ".join(recordlog.changes(saved, new)) or "contents changed"
                s.add("edit", f"{sidecar.path_for(path)} in the work tree was edited after "
                              f"the save (not committed): {what}")


# -- bytes -----------------------------------------------------------------------------------
def _plan(repo: Repo, s: Status, rec: _Record, offline: bool, remote: _Lazy,
          cache: Path, worktree: dict[str, str | None]) -> list[_Plan]:
    root, pointer = repo.root, rec.pointer
    plans = []
    work = _workspace_plan(root, s, pointer, worktree)
    if work is not None:
        plans.append(work)
    cache_listing = _cache_listing(root, pointer, cache)
    if cache_listing is not None:
        plans.append(_objects_plan(s, "cache", ".dvc/cache", cache_listing,
                                   lambda m: _opener_path(_cached(cache, m))))
    elif not offline:
        store = remote.get()
        listing = _remote_listing(store, pointer) if store is not None else None
        if store is not None and listing is not None:
            plans.append(_objects_plan(s, "remote", "the DVC remote", listing,
                                       lambda m: _opener_remote(store, m)))
    if not plans:
        s.unverifiable = True
    for plan in plans:
        plan.seal = rec.seal
    return plans


def _opener_path(path: Path) -> Path:
    return path


def _opener_remote(store: storage.RemoteStore, md5: str) -> digest.Opener:
    return lambda: store.open(md5)


def _workspace_plan(root: Path, s: Status, pointer: storage.Pointer,
                    worktree: dict[str, str | None]) -> _Plan | None:
    """The work tree holds this checkpoint when its own pointer file names the same bytes
    (``worktree``: each pointer file looked at once per run, not once per save of its path:
    10,000 stats and path joins were a tenth of a warm run)."""
    c = s.ckpt
    if c.dvcfile not in worktree:
        worktree[c.dvcfile] = _worktree_md5(root / c.dvcfile)
    if worktree[c.dvcfile] != pointer.md5:
        return None
    art = root / c.path
    if not art.exists():
        return None
    if not pointer.is_dir:
        if not art.is_file():
            return None
        return _Plan(s, "workspace", c.path, {"": digest.Job((id(s), ""), path=art,
                                                             size=art.stat().st_size)})
    files = {p.relative_to(art).as_posix(): p for p in art.rglob("*") if p.is_file()}
    return _Plan(s, "workspace", c.path,
                 {rel: digest.Job((id(s), rel), path=p, size=p.stat().st_size)
                  for rel, p in files.items()})


def _worktree_md5(path: Path) -> str | None:
    """The object a work-tree pointer names; read once per file and state, however many saves
    of that path are verified (10,000 saves of one path: one read, not 10,000)."""
    try:
        st = path.stat()
    except OSError:
        return None
    key = (str(path), st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino)
    if key not in _WORKTREE_MD5:
        try:
            _WORKTREE_MD5[key] = storage.parse_pointer(path.read_bytes()).md5
        except (CkptError, OSError):
            _WORKTREE_MD5[key] = None
    return _WORKTREE_MD5[key]


_WORKTREE_MD5: dict[tuple[str, int, int, int, int], str | None] = {}


def _cache_listing(root: Path, pointer: storage.Pointer, cache: Path) -> dict[str, str] | None:
    """relpath -> md5 of every object, or None when any object is not in the cache
    (``storage.missing_objects`` against the cache directory found once per run: asking
    ``storage.cache_root`` per checkpoint was a third of a warm verify of 10,000)."""
    try:
        if not _in_cache(cache, pointer.md5):
            return None
        if not pointer.is_dir:
            return {"": pointer.md5}
        listing = dict(storage.dir_entries(root, pointer.md5))
        return listing if all(_in_cache(cache, m) for m in listing.values()) else None
    except (OSError, ValueError, KeyError):
        return None


def _cached(cache: Path, md5: str) -> Path:
    """Where DVC keeps object ``md5`` under ``cache`` (``storage.object_path``'s layout)."""
    return cache / md5[:2] / md5[2:]


def _in_cache(cache: Path, md5: str) -> bool:
    # one string, not two pathlib joins: this runs once per checkpoint
    return os.path.exists(f"{cache}{os.sep}{md5[:2]}{os.sep}{md5[2:]}")


def _remote_listing(store: storage.RemoteStore, pointer: storage.Pointer) -> dict[str, str] | None:
    if not store.exists(pointer.md5):
        return None
    if not pointer.is_dir:
        return {"": pointer.md5}
    listing = dict(store.dir_entries(pointer.md5))
    return listing if all(store.exists(m) for m in listing.values()) else None


def _objects_plan(s: Status, source: str, where: str, listing: dict[str, str],
                  opener: Callable[[str], Path | digest.Opener]) -> _Plan:
    files = {}
    for rel, md5 in listing.items():
        src = opener(md5)
        if isinstance(src, Path):
            files[rel] = digest.Job((id(s), rel), path=src, size=src.stat().st_size)
        else:
            files[rel] = digest.Job((id(s), rel), opener=src)
    return _Plan(s, source, where, files, md5s=dict(listing))


def _run(plans: list[_Plan], workers: int | None, progress: Callable[[int], None] | None,
         seals: frozenset[str] = frozenset()) -> int:
    jobs, owner = [], {}
    for n, plan in enumerate(plans):
        for rel, job in plan.files.items():
            key = (n, rel)
            jobs.append(digest.Job(key, job.path, job.opener, job.size))
            owner[key] = plan
    results: dict[int, dict[str, digest.Result]] = {}
    total = 0
    for res in digest.hash_all(jobs, workers, progress):
        n, rel = res.key
        results.setdefault(n, {})[rel] = res
        total += res.size
    for n, plan in enumerate(plans):
        _judge(plan, results.get(n, {}), seals)
    return total


def _judge(plan: _Plan, results: dict[str, digest.Result],
           seals: frozenset[str] = frozenset()) -> None:
    s, seal = plan.status, plan.seal
    errors = [f"{rel or plan.where}: {r.error}" for rel, r in results.items() if r.error]
    if errors:
        s.add(plan.source, f"cannot read the bytes in {plan.where}: {errors[0]}")
        return
    if len(results) == 1 and "" in results:
        got = results[""].sha256 or ""
    else:
        got = hashing.directory_seal((rel, r.sha256 or "") for rel, r in results.items())
    if got == seal:
        plan.status.verified_from.append(plan.source)
        return
    if plan.source == "workspace" and got in seals:
        # Another saved checkpoint sits in the work tree (a restore, or training moved on and
        # saved again): nothing is tampered; the stored bytes are judged on their own.
        s.notes.append(f"the work tree holds another saved checkpoint's bytes "
                       f"(sha256 {got[:16]}…); checked the stored copy instead")
        return
    s.add(plan.source, _mismatch(plan, got, seal))


def _mismatch(plan: _Plan, got: str, seal: str) -> str:
    place = {"workspace": f"{plan.where} in the work tree",
             "cache": f"the cache object of {plan.status.ckpt.path}",
             "remote": f"the DVC remote object of {plan.status.ckpt.path}"}[plan.source]
    advice = {"workspace": f"restore it with 'git ckpt restore {plan.status.ckpt.short_id}' "
                           "or save it as a new checkpoint",
              "cache": "the cached copy is corrupt",
              "remote": "the remote copy is corrupt; push a good copy again"}[plan.source]
    return f"{place} does not match the seal (sha256 {got[:16]}… != sealed {seal[:16]}…): {advice}"


def _explain_cache(root: Path, plan: _Plan) -> None:
    """A corrupt cache object: name it and show its md5 too (DVC's own address fails as well)."""
    for rel, md5 in plan.md5s.items():
        path = storage.object_path(root, md5)
        try:
            actual, _ = digest.file_digest(path, "md5")
        except OSError:
            continue
        if actual != md5.removesuffix(".dir"):
            where = f" ({rel})" if rel else ""
            plan.status.add("cache", f"cache object {path}{where} is corrupt: md5 {actual} != "
                                     f"{md5} named by {plan.status.ckpt.dvcfile}")
