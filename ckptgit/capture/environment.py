"""The machine and software a checkpoint was produced on."""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from ckptgit import proc


def capture(env_vars: Iterable[str], record_packages: bool = True) -> dict[str, Any]:
    env: dict[str, Any] = {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "accelerators": _accelerators(),
        "container": _container(),
        "packages": _packages() if record_packages else {},
        "env": {k: os.environ[k] for k in env_vars if k in os.environ},
    }
    return env


@cache
def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


@cache
def _accelerators() -> list[dict[str, Any]]:
    """GPUs as the driver reports them; none when no NVIDIA driver is present."""
    out = proc.output_or_none(
        ["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"]
    )
    gpus = []
    for line in (out or "").splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 3:
            gpus.append({"vendor": "nvidia", "name": parts[0], "memory": parts[1],
                         "driver": parts[2]})
    return gpus


def _container() -> dict[str, Any] | None:
    runtime = None
    if Path("/.dockerenv").exists():
        runtime = "docker"
    elif Path("/run/.containerenv").exists():
        runtime = "podman"
    elif os.environ.get("KUBERNETES_SERVICE_HOST"):
        runtime = "kubernetes"
    image = os.environ.get("CKPT_CONTAINER_IMAGE") or os.environ.get("CONTAINER_IMAGE")
    if runtime is None and image is None:
        return None
    return {"runtime": runtime, "image": image}


@cache
def _packages() -> dict[str, str]:
    """Every installed distribution's name and version, the first on ``sys.path`` winning, as
    ``importlib.metadata.distributions()`` lists them. Its directories are scanned here the
    way it scans them: importing it (and the email package under it) was ~40 ms per save."""
    found: dict[str, str] = {}
    for info in _metadata_dirs():
        name, version = _name_version(_read_header(info / "METADATA")
                                      or _read_header(info / "PKG-INFO"))
        if name:
            found.setdefault(name.lower(), version)
    return dict(sorted(found.items()))


def _metadata_dirs() -> list[Path]:
    """``*.dist-info`` and ``*.egg-info`` entries of each ``sys.path`` directory, and the
    ``EGG-INFO`` of a ``*.egg`` directory on it, in ``sys.path`` order (importlib.metadata's
    ``MetadataPathFinder``; zipped eggs, which it also reads, hold no other layout)."""
    found = []
    for entry in sys.path:
        root = Path(entry or ".")
        try:
            children = os.listdir(root)
        except OSError:  # a zip file, a missing directory: nothing listed there
            continue
        egg = root.name.lower().endswith(".egg")
        for child in children:
            low = child.lower()
            if low.endswith((".dist-info", ".egg-info")) or (egg and low == "egg-info"):
                found.append(root / child)
    return found


def _read_header(path: Path) -> str | None:
    """The core-metadata headers, not the long description after them."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            lines = []
            for line in fh:
                if not line.strip():
                    break
                lines.append(line)
            return "".join(lines)
    except OSError:  # not there, or the .egg-info is a file, not a directory
        return None


def _name_version(text: str | None) -> tuple[str | None, str]:
    """Name and Version from a core-metadata header, read by hand: parsing whole METADATA
    files with the email package cost ~0.2 s per save in a typical environment."""
    name, version = None, ""
    for line in (text or "").splitlines():
        if not line.strip():
            break  # end of the headers; the long description follows
        key, _, value = line.partition(":")
        if key == "Name":
            name = value.strip()
        elif key == "Version":
            version = value.strip()
    return name, version


def command_line(argv: list[str] | None = None) -> list[str]:
    args = sys.argv if argv is None else argv
    return [os.path.basename(args[0]) if args else "python", *args[1:]]
