"""``git ckpt reproduce``: everything recorded about a checkpoint, laid out to run it again.

A detached git worktree at the recorded code commit; the recorded data inputs pulled through
DVC at their recorded hashes (pointers rewritten when the code commit's differ) and checked,
a directory file by file against its manifest; the recorded packages pinned in a requirements
file; params, seeds and metrics written out; and the recorded command in ``reproduce.sh``.
``check`` compares a re-run's metrics.
"""

from __future__ import annotations

import json
import math
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ckptgit import paths, sidecar, storage
from ckptgit.errors import IntegrityError, UsageError
from ckptgit.integrity import digest
from ckptgit.model import DataInput, Sidecar
from ckptgit.ops.show import full
from ckptgit.repo import Repo

OUT = ".ckpt-reproduce"
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_REQUIREMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*==[A-Za-z0-9][A-Za-z0-9.+!_-]*")


@dataclass(frozen=True)
class Prepared:
    dir: Path
    commit: str
    data: tuple[DataInput, ...]
    files: list[str]


def prepare(repo: Repo, ref: str, dest: Path) -> Prepared:
    doc = full(repo, ref).sidecar
    code = doc.code.commit
    if not code:
        raise UsageError(f"{ref}: no code commit was recorded; nothing to check out")
    if dest.exists() and any(dest.iterdir()):
        raise UsageError(f"{dest} is not empty; give a new directory")
    for item in doc.data or ():  # hostile records refused before anything is made
        paths.recorded(str(item.path), "recorded data path")
        storage.check_oid(str(item.md5), f"recorded data {item.path}: md5")
    repo.git.worktree_add(dest, code)
    data = _data(repo, dest, doc.data or ())
    files = _write_inputs(dest, doc)
    return Prepared(dest, code, data, files)


def _data(repo: Repo, dest: Path, inputs: tuple[DataInput, ...]) -> tuple[DataInput, ...]:
    dvcfiles = []
    for item in inputs:
        rel, md5 = str(item.path), str(item.md5)
        pointer = paths.confined(dest, f"{rel}.dvc", "recorded data path")
        storage.check_oid(md5, f"recorded data {rel}: md5")
        current = storage.parse_pointer(pointer.read_bytes()).md5 if pointer.is_file() else None
        if current != md5:  # the code commit predates the data: pin the recorded hash
            stored = storage.Stored(md5, "", int(item.size or 0), item.nfiles)
            pointer.parent.mkdir(parents=True, exist_ok=True)
            pointer.write_text(storage.pointer_text(stored, Path(rel).name))
        dvcfiles.append(f"{rel}.dvc")
    if dvcfiles:
        storage.pull_into(dest, repo.root, dvcfiles)
    problems = data_problems(repo.root, dest, inputs)
    if problems:
        more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        raise IntegrityError(f"{problems[0]}{more}: DVC's cache or remote holds other bytes "
                             f"than were recorded (worktree left in {dest} for inspection)")
    return inputs


def data_problems(root: Path, dest: Path, inputs: tuple[DataInput, ...]) -> list[str]:
    """How the rehydrated data inputs under ``dest`` differ from their recorded hashes.

    A directory is checked file by file against its ``.dir`` manifest (itself checked against
    the recorded hash, from ``root``'s cache): changed, missing and extra files are all named.
    """
    problems = []
    for item in inputs:
        rel, md5 = str(item.path), str(item.md5)
        path = paths.confined(dest, rel, "recorded data path")
        if md5.endswith(".dir"):
            problems += _dir_problems(root, path, rel, md5)
        elif not path.is_file():
            problems.append(f"{rel}: not rehydrated (expected a file with md5 {md5})")
        elif (got := digest.file_digest(path, "md5")[0]) != md5:
            problems.append(f"{rel}: md5 {got} is not the recorded {md5}")
    return problems


def _dir_problems(root: Path, path: Path, rel: str, md5: str) -> list[str]:
    manifest = storage.object_path(root, md5)
    if not manifest.is_file():
        return [f"{rel}: the manifest {md5} is not in the DVC cache"]
    if digest.file_digest(manifest, "md5")[0] != md5.removesuffix(".dir"):
        return [f"{rel}: the cached manifest {manifest} is corrupt (its md5 is not {md5})"]
    try:
        want = dict(storage.dir_entries(root, md5))
    except (ValueError, KeyError, TypeError):
        return [f"{rel}: the cached manifest {manifest} is not a DVC directory listing"]
    if not path.is_dir():
        return [f"{rel}: not rehydrated (expected a directory of {len(want)} files)"]
    have = {p.relative_to(path).as_posix(): p for p in path.rglob("*") if p.is_file()}
    problems = [f"{rel}/{f}: missing (recorded md5 {want[f]})"
                for f in sorted(set(want) - set(have))]
    problems += [f"{rel}/{f}: not in the recorded manifest"
                 for f in sorted(set(have) - set(want))]
    for f in sorted(set(want) & set(have)):
        got = digest.file_digest(have[f], "md5")[0]
        if got != want[f]:
            problems.append(f"{rel}/{f}: md5 {got} is not the recorded {want[f]}")
    return problems


def _write_inputs(dest: Path, doc: Sidecar) -> list[str]:
    out = dest / OUT
    out.mkdir()
    env = doc.environment or {}
    packages = env.get("packages") or {}
    (out / "requirements.txt").write_text(
        f"# pinned from checkpoint {doc.id} (python {env.get('python', '?')})\n"
        + "".join(f"{n}=={v}\n" for n, v in sorted(packages.items())
                  # one plain requirement per line: never an option such as --index-url
                  if _REQUIREMENT.fullmatch(f"{n}=={v}")))
    (out / "params.yaml").write_text(sidecar.dump(doc.params or {}))
    (out / "seeds.json").write_text(json.dumps(doc.seeds or {}, indent=2) + "\n")
    (out / "metrics.expected.json").write_text(json.dumps(doc.metrics or {}, indent=2)
                                               + "\n")
    script = dest / "reproduce.sh"
    script.write_text(_script(doc, env.get("env") or {}))
    script.chmod(0o755)
    return [f"{OUT}/requirements.txt", f"{OUT}/params.yaml", f"{OUT}/seeds.json",
            f"{OUT}/metrics.expected.json", "reproduce.sh"]


def _script(doc: Sidecar, env: dict[str, str]) -> str:
    command = list(doc.command or ())
    lines = ["#!/usr/bin/env bash",
             f"# Re-run checkpoint {doc.name} {doc.id} (saved {doc.created_at}).",
             f"# Install first:  pip install -r {OUT}/requirements.txt",
             f"# Params: {OUT}/params.yaml   seeds: {OUT}/seeds.json", "set -euo pipefail",
             'cd "$(dirname "$0")"']
    lines += [f"export {k}={shlex.quote(str(v))}" for k, v in sorted(env.items())
              if _ENV_NAME.fullmatch(str(k))]  # a recorded name is never shell code
    if command[:3] == ["git", "ckpt", "save"]:
        lines += ["# The checkpoint was saved from the command line; the training command that",
                  "# produced it was not recorded. Put it here, then save as recorded:",
                  "# " + shlex.join(command)]
    elif command:
        lines.append(shlex.join(command))
    else:
        lines.append("# no command was recorded")
    return "\n".join(lines) + "\n"


def check_rerun(repo: Repo, ref: str, metrics_file: Path, rtol: float,
                atol: float) -> list[str]:
    """``--check``: the re-run's metrics file against the metrics ``ref`` recorded."""
    from ckptgit.capture import values

    recorded = full(repo, ref).sidecar.metrics or {}
    return check(recorded, values.read_file(metrics_file, "metrics"), rtol, atol)


def check(recorded: dict[str, Any], rerun: dict[str, Any], rtol: float,
          atol: float) -> list[str]:
    """Metrics of a re-run that differ from the recorded ones beyond the tolerances."""
    problems = []
    for key, want in recorded.items():
        if isinstance(want, dict):
            continue
        if key not in rerun:
            problems.append(f"{key}: missing from the re-run (recorded {want})")
            continue
        got = rerun[key]
        if isinstance(want, (int, float)) and isinstance(got, (int, float)):
            if not math.isclose(float(got), float(want), rel_tol=rtol, abs_tol=atol):
                problems.append(f"{key}: {got} differs from the recorded {want} "
                                f"(rtol {rtol}, atol {atol})")
        elif got != want:
            problems.append(f"{key}: {got!r} is not the recorded {want!r}")
    return problems
