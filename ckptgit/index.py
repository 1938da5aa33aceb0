"""The local index of checkpoints under ``.git/ckpt/``: a cache of git, never the truth.

It also applies the save half of the trust rules (DESIGN "Trust model"), because every reader
lists saves through it: an id belongs to the FIRST commit that introduced it, with a sidecar
whose id is the commit's ``Ckpt-Id`` and whose md5 is its ``.dvc`` pointer's. A later commit
reusing the id (a sidecar edited under a copied trailer) is a forged save: it is never listed,
shown, ranked or gated on, and ``forgeries`` reports it for verify and audit.

It records the HEAD it was built for. A newer HEAD that descends from it is caught up with one
``git log OLD..HEAD`` and one ``cat-file --batch``; anything else rebuilds from scratch. Deleting
the file is always safe.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ckptgit import indexfile, loader, sidecar, sidecar_keys
from ckptgit.atomic import write_atomic
from ckptgit.errors import IntegrityError
from ckptgit.git import Git, LogEntry
from ckptgit.model import Checkpoint
from ckptgit.saves import FIELDS, Saves

log = logging.getLogger(__name__)

# 3: one list per field (``saves.FIELDS``) instead of one object per save
# 4: each column parsed only when used, a row built from one cell each (``indexfile``)
VERSION = indexfile.VERSION
TRAILERS = ("Ckpt-Id", "Ckpt-Name")


def _file(git: Git) -> Path:
    return git.ckpt_dir / f"index-v{VERSION}.json"


@dataclass(frozen=True)
class Forgery:
    """A commit that claims to be a save and is not the genuine one."""

    commit: str
    id: str
    name: str
    reason: str


def load(git: Git) -> list[Checkpoint]:
    """Every genuine checkpoint reachable from HEAD, in history order (newest first)."""
    return list(load_all(git)[0])


def saves(git: Git) -> Saves:
    """``load`` as columns: rows are built only as they are read (listings, references)."""
    return load_all(git)[0]


def forgeries(git: Git) -> list[Forgery]:
    """Commits reachable from HEAD that claim a save they are not (newest first)."""
    return load_all(git)[1]


def load_all(git: Git) -> tuple[Saves, list[Forgery]]:
    head = git.head()
    if head is None:
        return Saves.of([]), []
    cached = _read(git)
    if cached is not None and cached[0] == head:
        return cached[1], list(cached[2])
    if cached is not None and git.is_ancestor(cached[0], head):
        fresh, forged = _extend(git, _scan(git, [f"{cached[0]}..{head}"]), cached[1])
        forged += cached[2]
        return _in_front(git, head, fresh, cached[1], forged), forged
    found, forged = _scan(git, [head])
    kept, more = _genuine(git, found)
    entries, forged = Saves.of(kept), forged + more
    _write(git, head, entries, forged)
    return entries, forged


def _extend(git: Git, scanned: tuple[list[Checkpoint], list[Forgery]],
            cached: Saves) -> tuple[Saves, list[Forgery]]:
    """The saves of ``OLD..HEAD`` to put on top of OLD's. None of those commits is an
    ancestor of OLD, so a cached save always keeps its id against them (as ``_genuine`` over
    both would decide), and the cached rows are never built."""
    new, forged = scanned
    first = dict(zip(cached.column("id"), cached.column("commit"), strict=True))
    clash = [c for c in new if c.id in first]
    forged += [_forgery(c, first[c.id]) for c in clash]
    kept, more = _genuine(git, [c for c in new if c.id not in first])
    return Saves.of(kept), forged + more


def _in_front(git: Git, head: str, fresh: Saves, cached: Saves,
              forged: list[Forgery]) -> Saves:
    """``fresh`` in front of ``cached``, written as the index of ``head``. When the cached
    saves are still the index file's, its bytes go behind the new rows unparsed
    (``indexfile.prepend``); otherwise every column is written again."""
    src = cached.source
    if isinstance(src, _FileSource):
        rows = {f: fresh.column(f) for f in FIELDS}
        raw = indexfile.prepend(src.found, head, rows, [asdict(f) for f in forged], FIELDS)
        if raw is not None:
            write_atomic(_file(git), raw)
            again = _read(git)  # the file just written, unless another writer came between
            if again is not None and again[0] == head and len(again[1]) == len(fresh) + len(
                    cached):
                return again[1]
    entries = Saves({f: fresh.column(f) + cached.column(f) for f in FIELDS})
    _write(git, head, entries, forged)
    return entries


def record(git: Git, old_head: str | None, new_head: str, ckpt: Checkpoint) -> None:
    """After a save: extend the index in place when it was current, so no rescan is needed."""
    cached = _read(git)
    if cached is not None and cached[0] == old_head and ckpt.id not in cached[1].column("id"):
        _in_front(git, new_head, Saves.of([ckpt]), cached[1], cached[2])


def _genuine(git: Git, entries: list[Checkpoint]) -> tuple[list[Checkpoint], list[Forgery]]:
    """Keep the first save of each id (entries come newest first); later ones are forged.

    Commit dates can lie, so when the list order disagrees with ancestry, ancestry wins.
    """
    first: dict[str, Checkpoint] = {}
    for c in reversed(entries):
        known = first.get(c.id)
        if known is None or git.is_ancestor(c.commit, known.commit):
            first[c.id] = c
    keep = {id(c) for c in first.values()}
    forged = [_forgery(c, first[c.id].commit) for c in entries if id(c) not in keep]
    return [c for c in entries if id(c) in keep], forged


def _forgery(c: Checkpoint, genuine_commit: str) -> Forgery:
    return Forgery(c.commit, c.id, c.name, f"reuses the id of the save at "
                   f"{genuine_commit[:12]} (a copied Ckpt-Id trailer): not a save")


def _read(git: Git) -> tuple[str, Saves, list[Forgery]] | None:
    """The index file, read once per process and state of the file (``resolve`` of two refs
    and the listing they are resolved in read it three times). Anything but an index this
    version wrote, with a header that passes every check, is None: rebuilt, not used. Columns
    are parsed and checked as they are used (``saves.Saves``, ``indexfile``)."""
    path = _file(git)
    try:
        st = path.stat()
        key = (str(path), st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        if key not in _READ:
            file = path.open("rb")  # kept open: columns are read from it as they are used
            found = indexfile.layout(file, FIELDS)
            if found is None:
                file.close()
                return None
            forged = [Forgery(**f) for f in found.forged]
            _READ.clear()  # one repository's index at a time is enough
            _READ[key] = (found.head, Saves({}, _FileSource(git, found)), forged)
        return _READ[key]
    except (OSError, ValueError, KeyError, TypeError, RecursionError, MemoryError):
        return None


_READ: dict[tuple[str, int, int, int, int], tuple[str, Saves, list[Forgery]]] = {}
_loads = indexfile.loads


class _FileSource:
    """The columns of an index file, for ``Saves``; its repair rebuilds the saves of the
    file's HEAD from history (so row numbers read before it still name the same saves) and
    writes them back."""

    def __init__(self, git: Git, found: indexfile.Layout) -> None:
        self.git, self.found, self.count = git, found, found.count

    def column(self, field: str) -> Any:
        return self.found.column(field)

    def cell(self, field: str, row: int) -> tuple[bool, Any]:
        return self.found.cell(field, row)

    def repair(self) -> dict[str, list[Any]]:
        log.warning("the checkpoint index is damaged; rebuilt from history")
        head = self.found.head
        found, forged = _scan(self.git, [head])
        kept, more = _genuine(self.git, found)
        entries = Saves.of(kept)
        _write(self.git, head, entries, forged + more)
        return {f: entries.column(f) for f in FIELDS}


def _write(git: Git, head: str, entries: Saves, forged: list[Forgery]) -> None:
    columns = {f: entries.column(f) for f in FIELDS}
    try:
        data = indexfile.encode(head, columns, [asdict(f) for f in forged], FIELDS)
    except OverflowError:
        return  # a column past 4 GiB: no cache, every reader rebuilds
    # the temporary is unique per thread: background saves and a list may write at once
    write_atomic(_file(git), data)


def scan_commits(git: Git, commits: list[str]) -> tuple[list[Checkpoint], list[Forgery]]:
    """These commits alone, judged as saves (their ancestry is the caller's business)."""
    return _scan(git, ["--no-walk=unsorted", *commits])


def _scan(git: Git, revs: list[str]) -> tuple[list[Checkpoint], list[Forgery]]:
    """Save commits of ``revs``: one ``git log``, one ``cat-file --batch``, and the sidecars'
    rows read (``_rows``: the form ckptgit writes directly, any other by YAML on every core)."""
    commits = git.log_saves(revs, TRAILERS, blobs=True)
    specs = [_objects(entry) for entry in commits]
    blobs = git.cat_files(list(dict.fromkeys(p for s in specs if s for p in s[1:])))
    todo = [(entry, spec, raw) for entry, spec in zip(commits, specs, strict=True)
            if spec is not None and (raw := blobs.get(spec[1])) is not None]
    parsed = _rows([(raw, spec[0], entry.commit) for entry, spec, raw in todo])
    found, forged = [], []
    for (entry, spec, _), ckpt in zip(todo, parsed, strict=True):
        if isinstance(ckpt, str):
            log.warning("commit %s: sidecar refused (%s); skipped", entry.commit[:12], ckpt)
            continue
        if ckpt is None:
            continue  # unreadable sidecars are verify's business, not list's
        why = _not_a_save(entry.trailers.get("Ckpt-Id", ""), ckpt, blobs.get(spec[2]),
                          spec[0].partition(":")[2])
        if why is None:
            found.append(ckpt)
        else:
            forged.append(Forgery(entry.commit, ckpt.id, ckpt.name, why))
    return found, forged


def _objects(entry: LogEntry) -> tuple[str, str, str] | None:
    """A save commit's sidecar as messages name it, and the objects to read for the sidecar and
    its pointer: the blobs the log reports the commit wrote (read by id, no tree walk: half of
    ``cat-file``'s time at 100,000 saves), else ``commit:path``."""
    side = next((f for f in entry.files if f.endswith(sidecar.SUFFIX)), None)
    if side is None:
        return None
    pointer = side.removesuffix(sidecar.SUFFIX) + ".dvc"
    return (f"{entry.commit}:{side}", entry.blobs.get(side) or f"{entry.commit}:{side}",
            entry.blobs.get(pointer) or f"{entry.commit}:{pointer}")


def _rows(items: list[tuple[bytes, str, str]]) -> list[Checkpoint | str | None]:
    """``_summarize`` of every item. Sidecars in the form ckptgit writes are read here by
    ``sidecar_keys`` (about 0.05 ms each, less than shipping them to a worker); only the
    others are parsed as YAML, on every core."""
    fast = [sidecar_keys.row_keys(raw) for raw, _, _ in items]
    slow = iter(sidecar.parallel(_summarize, [x for x, doc in zip(items, fast, strict=True)
                                              if doc is None]))
    return [next(slow) if doc is None else _row(doc, commit)
            for (_, _, commit), doc in zip(items, fast, strict=True)]


def _row(doc: dict[str, Any], commit: str) -> Checkpoint | None:
    try:
        return _checked(Checkpoint.from_sidecar(doc, commit))
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def _summarize(item: tuple[bytes, str, str]) -> Checkpoint | str | None:
    """One sidecar as the index row it makes (in a worker process): None when unreadable,
    the reason when refused as hostile (the parent logs it: a worker's log is not shown)."""
    raw, what, commit = item
    try:
        return _checked(Checkpoint.from_sidecar(_summary(raw, what), commit))
    except IntegrityError as exc:
        if isinstance(exc.__cause__, loader.LimitError):  # hostile, not merely broken
            return str(exc.__cause__)
        return None
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def _checked(ckpt: Checkpoint) -> Checkpoint | None:
    """The row, when every field holds what the index may store (``saves.TYPES``)."""
    from ckptgit.saves import TYPES

    ok = all(type(getattr(ckpt, f)) in TYPES[f] for f in FIELDS)
    return ckpt if ok and all(type(x) is str for x in ckpt.labels) else None


def _not_a_save(trailer_id: str, ckpt: Checkpoint, pointer: bytes | None,
                side: str) -> str | None:
    """Why a commit whose sidecar ``side`` says ``ckpt`` is not the save it claims, or None.
    ``show`` and ``verify`` read the sidecar of the artifact the row names: a sidecar naming
    another artifact would list one record and show another."""
    if ckpt.sidecar_path != side:
        return f"its sidecar {side!r} names another artifact, {ckpt.path!r}"
    if trailer_id.split(",")[0].strip() != ckpt.id:
        return f"its Ckpt-Id trailer {trailer_id!r} is not its sidecar's id {ckpt.id}"
    if pointer is None:
        return f"it has no DVC pointer {ckpt.dvcfile}"
    from ckptgit import storage

    try:
        md5 = storage.parse_pointer(pointer).md5
    except IntegrityError:
        return f"its DVC pointer {ckpt.dvcfile} is unreadable"
    if md5 != ckpt.md5:
        return f"its sidecar's md5 {ckpt.md5} is not its pointer's {md5}"
    return None


def _summary(raw: bytes, what: str) -> dict[str, Any]:
    """The whole sidecar, as ``show`` and ``verify`` read it. Cutting unread sections out of
    the text first was faster, but a cut text can read otherwise (a quote opened in a cut
    section that closes on a later key line makes that line part of a string, not a key) or
    hide what the whole is refused for (an alias, a tag). ``sections``: the big sections an
    environment or a tensor summary repeat are parsed once per process, with the same result
    and errors as one parse of the whole (``yamlsafe.load_sections``)."""
    return sidecar.load(raw, what, sections=True)
