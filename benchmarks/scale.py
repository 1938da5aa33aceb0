"""Scale (issue 14): sharded checkpoints, 100,000 saves and 10,000 stage events, parallel work.

Sharded: a directory of 20 safetensors shards of 100 MB (``--quick``: 4 MB) saved with
``git ckpt save`` against sequential ``md5sum`` of the same files and ``dvc add`` +
``git commit`` (new bytes for everyone each round, warm page cache, ``sync`` before each run,
caches emptied between rounds). Then the next save with 2 of 20 shards rewritten: time, bytes
written into the cache (the growth of ``.dvc/cache``) and the dedup ratio; ``diff --weights``
between the two saves (shards read, against reading the differing shards once); the speed-up
of storing and comparing on every core against one (``--jobs 1``).

History: 100 / 1,000 / 10,000 / 100,000 saves (``--quick``: 100 and 1,000) synthesized with
``git fast-import`` (``_synth.py``) plus one stage event per ten saves, at most 10,000
(annotated tags with our trailers, unsigned: reading them costs the same). At each size:
``list`` cold and warm, ``show``, ``diff`` (metadata), ``stages``, ``history``,
``rank --where``, ``verify --all`` of the metadata (``--offline --allow-missing``: no bytes
to hash) cold (no parse cache) and warm, and ``audit``. Baselines from the same run: ``git log``
selecting the saves by trailer (list, rank, verify, audit), ``git for-each-ref`` of the tags
(stages, history), ``git show`` of one sidecar (show, diff).

    python benchmarks/scale.py [--quick]
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import sys
import time
from pathlib import Path
from typing import Any

import _synth
import common
from common import MiB, Sandbox

SHARDS = 20
CHANGED = 2
DIR = "models/llm"
STAGES = ("dev", "staging", "production")


# -- sharded checkpoints ------------------------------------------------------------------------
def _shard(path: Path, size: int, seed: int) -> None:
    """A real safetensors file: one F32 tensor of ``size`` bytes of normal floats."""
    import numpy as np

    n = size // 4
    header = json.dumps({"__metadata__": {"format": "pt"},
                         f"layer.{path.stem}.weight": {"dtype": "F32", "shape": [n],
                                                       "data_offsets": [0, 4 * n]}}).encode()
    header += b" " * (-len(header) % 8)
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(header)) + header)
        for start in range(0, n, 4 << 20):
            fh.write(rng.standard_normal(min(4 << 20, n - start), dtype=np.float32).tobytes())


def _shards(root: Path, size: int, seeds: list[int]) -> None:
    for i, seed in enumerate(seeds):
        _shard(root / f"model-{i:05d}-of-{SHARDS:05d}.safetensors", size, seed)
    (root / "config.json").write_text('{"architectures": ["Bench"], "shards": 20}\n')


def _touch(root: Path, i: int) -> None:
    """New content in every shard (two floats rewritten, still valid floats)."""
    for path in sorted(root.glob("*.safetensors")):
        path.chmod(0o644)
        size = path.stat().st_size
        with open(path, "r+b") as fh:
            for offset in (size // 2 // 4 * 4, size - 8):
                fh.seek(offset)
                fh.write(struct.pack("<ff", 0.5 + i, -0.25 - i))


def _du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def _sharded(box: Sandbox, quick: bool) -> list[dict[str, Any]]:
    size, rounds = (4 * MiB, 2) if quick else (100 * MiB, 3)
    label = f"{SHARDS} x {size // MiB} MB shards"
    ours, serial = box.ckpt_repo("shards-ours"), box.ckpt_repo("shards-j1")
    plain = box.dvc_repo("shards-dvc")
    for repo in (ours, serial, plain):
        _shards(repo / DIR, size, list(range(SHARDS)))
    files = sorted(str(p) for p in (ours / DIR).iterdir())

    def dvc_add_commit() -> None:
        box.sh(["dvc", "add", "-q", DIR], plain)
        box.sh(["git", "add", f"{DIR}.dvc", "models/.gitignore"], plain)
        box.sh(["git", "commit", "-q", "-m", "add model"], plain)

    cases = {
        "ours": lambda: box.sh(["git", "ckpt", "save", DIR, "-n", "llm", "-q"], ours),
        "ours --jobs 1": lambda: box.sh(["git", "ckpt", "save", DIR, "-n", "llm", "-q",
                                         "--jobs", "1"], serial),
        "dvc": dvc_add_commit,
        "md5sum": lambda: box.sh(["md5sum", *files]),
    }
    repo_of = {"ours": ours, "ours --jobs 1": serial, "dvc": plain}

    def before(case: str, i: int) -> None:
        repo = repo_of.get(case)
        if repo is not None:
            shutil.rmtree(repo / ".dvc" / "cache", ignore_errors=True)
            _touch(repo / DIR, i)
        common.settle()

    cpu: dict[str, list[float]] = {}
    times = common.interleave(cases, rounds, before, cpu)
    med = {k: common.median(v) for k, v in times.items()}
    cpu_med = {k: round(common.median(v), 2) for k, v in cpu.items()}
    samples = {k: [round(x, 3) for x in v] for k, v in times.items()}
    note = (f"median of {rounds}, warm page cache, sync before each run; CPU seconds: "
            + ", ".join(f"{k} {v:.1f}" for k, v in cpu_med.items()))
    judged = None if quick else True
    rows = [
        common.row(f"save {label} vs sequential md5sum", med["ours"], med["md5sum"],
                   baseline_name="md5sum of the files", max_ratio=0.75, note=note,
                   samples=samples, cpu_s=cpu_med),
        common.row(f"save {label} vs dvc add+commit", med["ours"], med["dvc"],
                   baseline_name="dvc add+git commit", max_ratio=0.4),
        common.row(f"save {label}: every core vs --jobs 1", med["ours"], med["ours --jobs 1"],
                   baseline_name="--jobs 1",
                   note=f"speed-up {med['ours --jobs 1'] / med['ours']:.2f}x on "
                        f"{os.cpu_count()} cores"),
    ]
    if not judged:
        for r in rows:
            r["passed"] = None
    return rows + _next_save(box, ours, plain, size, label, quick) + [_parallel_diff(box, ours,
                                                                                   quick)]


def _next_save(box: Sandbox, ours: Path, plain: Path, size: int, label: str,
               quick: bool) -> list[dict[str, Any]]:
    """Two shards rewritten, 18 unchanged: what the next save stores, and diff --weights."""
    for repo in (ours, plain):
        for i in range(CHANGED):
            _shard(repo / DIR / f"model-{i:05d}-of-{SHARDS:05d}.safetensors", size, 1000 + i)
    common.settle()
    cache = ours / ".dvc" / "cache"
    before = _du(cache)
    ours_s = common.timed(lambda: box.sh(["git", "ckpt", "save", DIR, "-n", "llm", "-q"], ours))
    written = _du(cache) - before
    common.settle()

    def dvc_again() -> None:
        box.sh(["dvc", "add", "-q", DIR], plain)
        box.sh(["git", "add", f"{DIR}.dvc"], plain)
        box.sh(["git", "commit", "-q", "-m", "next"], plain)

    dvc_s = common.timed(dvc_again)
    total = _du(ours / DIR)
    rows = [common.row(f"next save, {CHANGED} of {SHARDS} shards changed", ours_s, dvc_s,
                       baseline_name="dvc add+git commit",
                       note=f"{written / MiB:.1f} MiB written of {total / MiB:.1f} MiB "
                            f"(dedup {total / max(written, 1):.1f}x)",
                       bytes_written=written, bytes_total=total)]
    # diff --weights between the two saves: only the changed shards are read
    out = box.sh(["git", "ckpt", "diff", "llm~1", "llm", "--weights", "--only", "weights",
                  "--format", "json"], ours).stdout
    read = json.loads(out)["sections"]["weights"].get("read") or []
    entries = _objects_of(ours, read)
    diff_s = common.median(common.interleave({"ours": lambda: box.sh(
        ["git", "ckpt", "diff", "llm~1", "llm", "--weights", "--only", "weights"], ours)},
        2 if quick else 3)["ours"])
    cat_s = common.timed(lambda: box.sh(["cat", *map(str, entries)]))
    rows.append(common.row(f"diff --weights, {label}, {CHANGED} changed", diff_s, cat_s,
                           baseline_name="reading the changed shards once",
                           note=f"{len(read)} of {2 * SHARDS} shard files read"))
    return rows


def _objects_of(repo: Path, read: list[str]) -> list[Path]:
    """Cache objects of the shards ``diff --weights`` read (``a/REL`` = llm~1, ``b/REL``)."""
    from ckptgit import storage
    from ckptgit.repo import Repo

    r = Repo.open(repo)
    a, b = r.resolve("llm~1"), r.resolve("llm")
    out = []
    for item in read:
        side, _, rel = item.partition("/")
        listing = dict(storage.dir_entries(repo, (a if side == "a" else b).md5))
        out.append(storage.object_path(repo, listing[rel]))
    return out


def _parallel_diff(box: Sandbox, repo: Path, quick: bool) -> dict[str, Any]:
    """``diff --weights`` over shards on every core vs one (the Python API, same objects)."""
    from ckptgit import sidecar
    from ckptgit.compare import shards
    from ckptgit.repo import Repo

    _touch(repo / DIR, 99)  # one more save with new bytes in every shard
    box.sh(["git", "ckpt", "save", DIR, "-n", "llm", "-q"], repo)
    r = Repo.open(repo)
    pair = (r.resolve("llm~1"), r.resolve("llm"))
    docs = [sidecar.read(r.git.show_file(c.commit, c.sidecar_path) or b"") for c in pair]
    sides = [shards.from_checkpoint(repo, c, d, 2) for c, d in zip(pair, docs, strict=True)]
    cpu: dict[str, list[float]] = {}
    times = common.interleave({
        "every core": lambda: shards.compare(sides[0], sides[1], 10**8, os.cpu_count()),
        "one": lambda: shards.compare(sides[0], sides[1], 10**8, 1)}, 1 if quick else 2,
        None, cpu)
    med = {k: common.median(v) for k, v in times.items()}
    return common.row(f"diff --weights over {SHARDS} changed shards: every core vs one",
                      med["every core"], med["one"], baseline_name="one worker",
                      note=f"speed-up {med['one'] / med['every core']:.2f}x on "
                           f"{os.cpu_count()} cores; CPU s "
                           f"{common.median(cpu['every core']):.1f} vs "
                           f"{common.median(cpu['one']):.1f} (numpy's BLAS may use every "
                           "core even for one worker)")


def _parallel_compare(repo: Path, n: int) -> list[dict[str, Any]]:
    """``check`` over every checkpoint (its sidecars parsed) and ``rank --where``'s filter,
    on every core against one worker, in this process (same inputs, interleaved, median of
    3); and the compiled filter against celpy on the same rows."""
    from ckptgit import sidecar
    from ckptgit.compare import filtering, ranking
    from ckptgit.repo import Repo

    r = Repo.open(repo)
    entries = r.checkpoints()
    specs = [f"{c.commit}:{c.sidecar_path}" for c in entries]
    blobs = r.git.cat_files(specs)
    items = [(blobs[s] or b"", s) for s in specs]
    where = "metrics.acc > 0.5 && step > 2"
    slow = "metrics.acc > 0.5 && step % 2 == 0"  # '%' is outside the compiled subset
    contexts = [ranking.context(c) for c in entries]
    cores = os.cpu_count() or 1
    rows = []
    for label, fn in (
            (f"check: {n:,} sidecars parsed", lambda w: sidecar.load_many(items, w)),
            (f"rank --where '{slow}' (celpy): {n:,} checkpoints filtered",
             lambda w: filtering.holds_many(slow, contexts, w))):
        rows.append(_cores_row(label, fn, cores))
    cpu: dict[str, list[float]] = {}
    times = common.interleave({"compiled": lambda: filtering.holds_many(where, contexts),
                               "celpy": lambda: filtering.celpy_many(where, contexts)},
                              3, None, cpu)
    med = {k: common.median(v) for k, v in times.items()}
    rows.append(common.row(f"rank --where '{where}': {n:,} checkpoints filtered, compiled "
                           "vs celpy on every core", med["compiled"], med["celpy"],
                           baseline_name="celpy",
                           note=f"CPU s of the calling process {common.median(cpu['compiled']):.2f}"
                                f" vs {common.median(cpu['celpy']):.2f} (pool workers not "
                                "counted)"))
    return rows


def _cores_row(label: str, fn: Any, cores: int) -> dict[str, Any]:
    cpu: dict[str, list[float]] = {}
    times = common.interleave({"every core": lambda: fn(cores), "one": lambda: fn(1)}, 3,
                              None, cpu)
    med = {k: common.median(v) for k, v in times.items()}
    return common.row(f"{label}: every core vs one", med["every core"], med["one"],
                      baseline_name="one worker",
                      note=f"speed-up {med['one'] / med['every core']:.2f}x on {cores} cores; "
                           f"CPU s of the calling process (pool workers not counted) "
                           f"{common.median(cpu['every core']):.1f} vs "
                           f"{common.median(cpu['one']):.1f}")


# -- history at scale ---------------------------------------------------------------------------
def _tags(box: Sandbox, repo: Path, count: int) -> None:
    """``count`` stage events on save commits, in one fast-import (unsigned annotated tags)."""
    if not count:
        return
    log = box.git(repo, "log", "--format=%H %(trailers:key=Ckpt-Id,valueonly,separator=) "
                  "%(trailers:key=Ckpt-Name,valueonly,separator=)",
                  "--grep=^Ckpt-Id: ", "HEAD").split("\n")
    saves: dict[str, list[tuple[str, str]]] = {}  # name -> its (commit, id), newest first
    for line in log:
        if line.strip():
            commit, ckpt_id, saved_name = line.split(" ")
            saves.setdefault(saved_name, []).append((commit, ckpt_id))
    chunks, when = [], 1_700_000_000
    for i in range(count):
        name = "clf" if i % 10 == 0 else f"clf-{i % 10}"
        own = saves[name]  # a tag on a save of another name is refused by the verifier
        commit, ckpt_id = own[(i // 10) % len(own)]
        number, stage = i // 10 + 1, STAGES[(i // 10) % len(STAGES)]
        msg = (f"promote {name} to {stage}\n\nCkpt-Action: promote\nCkpt-Id: {ckpt_id}\n"
               f"Rationale: benchmark {i}\nApproved-By: bob@example.com\n"
               "Signed-By: alice@example.com\n").encode()
        chunks.append(f"tag {name}#{stage}#{number}\nfrom {commit}\n"
                      f"tagger Ada <ada@example.com> {when + i} +0000\n"
                      f"data {len(msg)}\n".encode() + msg + b"\n")
    box.sh(["git", "fast-import", "--quiet"], repo, input=b"".join(chunks))


def _history_rows(quick: bool) -> list[dict[str, Any]]:
    sizes = (100, 1000) if quick else (100, 1000, 10000, 100000)
    rows: list[dict[str, Any]] = []
    with common.sandbox("scale") as box:
        template = _synth.template(box)
        for n in sizes:
            repo = box.ckpt_repo(f"scale-{n}")
            start = time.perf_counter()
            _synth.synthesize(box, repo, template, n)
            _tags(box, repo, min(n // 10, 10000))
            made = time.perf_counter() - start
            rows += _at(box, repo, n, 3, made)
            if n == (1000 if quick else 10000):
                rows += [_emit(r) for r in _parallel_compare(repo, n)]
            shutil.rmtree(repo, ignore_errors=True)  # 100,000 saves hold several GB
    return rows


def _at(box: Sandbox, repo: Path, n: int, rounds: int, made: float) -> list[dict[str, Any]]:
    from ckptgit import index as ckpt_index

    index = repo / ".git" / "ckpt" / f"index-v{ckpt_index.VERSION}.json"  # cold: deleted
    parsed = repo / ".git" / "ckpt" / "verified-records-v1.json"
    ck = lambda *a: box.sh(["git", "ckpt", *a], repo)  # noqa: E731
    found = len(json.loads(ck("list", "--json").stdout))
    if found != n:
        raise RuntimeError(f"list found {found} checkpoints in a history of {n}")
    git_log = lambda: box.sh(["git", "log", "--format=%H %(trailers:key=Ckpt-Id)",  # noqa: E731
                              "--grep=^Ckpt-Id: ", "HEAD"], repo)
    refs = lambda: box.sh(["git", "for-each-ref", "--format=%(refname) %(contents)",  # noqa: E731
                           "refs/tags"], repo)
    show = lambda: box.sh(["git", "show", "HEAD:models/clf-9.safetensors.ckpt.yaml"]  # noqa: E731
                          if n >= 10 else ["git", "show", "HEAD"], repo)
    verify = ["verify", "--all", "--offline", "--allow-missing", "-q"]
    cases: dict[str, tuple[Any, Any, str, float | None]] = {
        "list cold": (lambda: ck("list"), git_log, "git log --grep", 3.0),
        "list warm": (lambda: ck("list"), git_log, "git log --grep", 0.5),
        "show": (lambda: ck("show", "clf"), show, "git show (one sidecar)", 0.5),
        "diff": (lambda: ck("diff", "clf~1", "clf"), show, "git show (one sidecar)", 0.5),
        "stages": (lambda: ck("stages"), refs, "git for-each-ref", 0.5),
        "history": (lambda: ck("history"), refs, "git for-each-ref", 0.5),
        "rank --where": (lambda: ck("rank", "--by", "acc", "--where",
                                    "metrics.acc > 0.5 && step > 2", "--top", "5"),
                         git_log, "git log --grep", 2.0),
        "verify cold": (lambda: box.sh(["git", "ckpt", *verify], repo, check=False),
                        git_log, "git log --grep", 5.0 if n == 10000 else None),
        "verify warm": (lambda: box.sh(["git", "ckpt", *verify], repo, check=False),
                        git_log, "git log --grep", 5.0 if n == 10000 else None),
        "audit": (lambda: box.sh(["git", "ckpt", "audit", "--format", "json"], repo, check=False),
                  git_log, "git log --grep", 10.0 if n == 10000 else None),
    }
    if n >= 100000:  # audit's target is at 10,000; verify is measured beyond (linear?)
        del cases["audit"]
    rows = []
    for name, (ours, base, base_name, target) in cases.items():
        def before(case: str, i: int, name: str = name) -> None:
            if case == "ours" and name == "list cold":
                index.unlink(missing_ok=True)
            if case == "ours" and name == "verify cold":
                parsed.unlink(missing_ok=True)
        heavy = name in ("verify cold", "audit") or n >= 100000
        times = common.interleave({"ours": ours, "base": base}, 1 if heavy else rounds, before)
        med = {k: common.median(v) for k, v in times.items()}
        applies = target is not None and (n == 100000 or name.startswith(("verify", "audit")))
        rows.append(_emit(common.row(f"{name} at {n:,} saves", med["ours"], med["base"],
                               baseline_name=base_name,
                               max_seconds=target if applies else None,
                               curve=name, n=n,
                               note=f"history synthesized in {made:.0f} s" if name == "list cold"
                               else "")))
    return rows


def _emit(row: dict[str, Any]) -> dict[str, Any]:
    """Each row on stderr as soon as it is measured: a long run stopped early keeps them."""
    print(f"[scale] {json.dumps(row)}", file=sys.stderr, flush=True)
    return row


def run(quick: bool) -> list[dict[str, Any]]:
    with common.sandbox("shards") as box:
        rows = [_emit(r) for r in _sharded(box, quick)]
    return rows + _history_rows(quick)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    common.main(run)
