"""``make bench``: run every benchmark module, print one table, write results/latest.json.

Every ``benchmarks/*.py`` exposing ``run(quick) -> list[dict]`` is a benchmark (see
common.py for the row format). A module that fails, or measures a command that does not
exist yet, gives an n/a row instead of stopping the others.

    python benchmarks/run.py [--quick] [--only save,listing] [--strict]
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import common

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "latest.json"
FIRST = ["save", "startup", "listing", "remote"]  # the foundation's figures lead the table


def discover() -> list[str]:
    names = sorted(p.stem for p in HERE.glob("*.py")
                   if not p.stem.startswith("_") and p.stem not in {"run", "common", "plot"})
    return sorted(names, key=lambda n: (FIRST.index(n) if n in FIRST else len(FIRST), n))


def run_module(name: str, quick: bool) -> tuple[list[dict[str, Any]], float]:
    start = time.perf_counter()
    try:
        module = importlib.import_module(name)
    except Exception as exc:  # noqa: BLE001 - one broken module must not stop the others
        return [common.na(f"{name} (module)", f"import failed: {_line(exc)}")], 0.0
    if Path(getattr(module, "__file__", "") or "").parent != HERE:
        return [common.na(f"{name} (module)", f"the name is taken by {module.__name__} of the "
                                              f"standard library: rename the file")], 0.0
    bench = getattr(module, "run", None)
    if not callable(bench):
        return [common.na(f"{name} (module)", "defines no run(quick); helpers start with _")], 0.0
    try:
        rows = list(bench(quick))
    except Exception as exc:  # noqa: BLE001
        traceback.print_exc(file=sys.stderr)
        rows = [common.na(f"{name} (module)", f"failed: {_line(exc)}")]
    for r in rows:
        r.setdefault("module", name)
    return rows, time.perf_counter() - start


def _line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:200]


def _commit() -> str | None:
    done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=HERE.parent, capture_output=True,
                          text=True, check=False)
    return done.stdout.strip() or None


def _compile_package() -> None:
    """Byte-compile ckptgit and its dependencies as an installed wheel would be, so no run
    pays for compiling.

    An editable install has no .pyc until first use, and where PYTHONDONTWRITEBYTECODE is set
    every run would recompile every module it imports: a cost users of an installed package
    never see. That holds for the dependencies too when they were installed with
    ``--no-compile`` (the venv's default here): recompiling dvc_data, dvc_objects and
    ruamel.yaml on every ``git ckpt save`` cost 1.7 s of CPU in the save benchmarks. Already
    compiled files are skipped, so this is quick after the first run.
    """
    import compileall

    compileall.compile_dir(str(Path(__file__).resolve().parent.parent / "ckptgit"), quiet=1)
    _compile_dependencies()


# What the commands import (click, PyYAML, …) is compiled too: ``make venv`` installs with
# --no-compile, so where PYTHONDONTWRITEBYTECODE is set every ``git ckpt`` run compiled click
# from source (about half the CPU of a warm ``history``); pip's default install, and any first
# run without that variable, leaves the .pyc files a user's runs load.
_DEPENDENCIES = ("click", "yaml", "rich", "sshsig", "cryptography", "jsonschema",
                 "jsonschema_specifications", "referencing", "attrs", "deepdiff", "orderly_set",
                 "celpy", "lark", "safetensors", "numpy", "dvc", "dvc_data", "dvc_objects",
                 "fsspec", "funcy", "pathspec", "platformdirs", "packaging", "rpds",
                 "typing_extensions",
                 # the data path: a save's DVC pointer writer, restore and push on S3
                 "ruamel.yaml", "s3fs", "aiobotocore", "botocore", "aiohttp", "dvc_s3",
                 # what opening a DVC remote imports (audit and verify without --offline)
                 "dvc_http", "dvc_render", "scmrepo", "dulwich", "sqltrie", "diskcache",
                 "dpath", "voluptuous", "flatten_dict", "configobj", "pygtrie", "psutil",
                 "tqdm", "colorama", "attr", "public", "re2", "flufl.lock", "zc.lockfile")


def _compile_dependencies() -> None:
    import compileall
    import importlib.util

    for name in _DEPENDENCIES:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        if spec is None or spec.origin is None:
            continue
        origin = Path(spec.origin)
        if origin.name == "__init__.py":
            compileall.compile_dir(str(origin.parent), quiet=2, workers=0)
        elif origin.suffix == ".py":
            compileall.compile_file(str(origin), quiet=2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, fewer rounds")
    parser.add_argument("--only", help="comma-separated module names, e.g. save,listing")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target fails")
    parser.add_argument("--output", type=Path, default=RESULTS, help="JSON results file")
    args = parser.parse_args(argv)
    names = discover()
    if args.only:
        wanted = args.only.split(",")
        unknown = sorted(set(wanted) - set(names))
        if unknown:
            parser.error(f"no benchmark module {', '.join(unknown)} (have {', '.join(names)})")
        names = [n for n in names if n in wanted]
    _compile_package()
    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    durations: dict[str, float] = {}
    for name in names:
        print(f"[bench] {name} …", file=sys.stderr, flush=True)
        found, took = run_module(name, args.quick)
        rows += found
        durations[name] = round(took, 1)
        print(f"[bench] {name}: {took:.0f} s", file=sys.stderr, flush=True)
    total = time.perf_counter() - started
    print(common.format_table(rows))
    curves = common.format_curves(rows)
    if curves:
        print("\n" + curves)
    print(f"\n{'quick' if args.quick else 'full'} run, {total:.0f} s "
          f"({', '.join(f'{k} {v:.0f} s' for k, v in durations.items())})")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({
        "commit": _commit(),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version()},
        "total_s": round(total, 1),
        "durations_s": durations,
        "rows": rows,
    }, indent=1))
    print(f"results: {args.output}")
    failed = [r["work"] for r in rows if r.get("passed") is False]
    return 1 if args.strict and failed else 0


if __name__ == "__main__":
    sys.exit(main())
