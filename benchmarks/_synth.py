"""A synthetic save history, shared by the scale benchmarks (list, verify, gc).

Thousands of real saves would take hours, so the history is synthesized with ONE
``git fast-import`` stream of valid save commits: each holds a ``.dvc`` pointer and a sidecar
made from a real sidecar (a real ``git ckpt save`` of a small safetensors model, so the
environment and tensor summary are full size) with a fresh id, time, hashes, metrics, step
and parent; the first save of each name also declares it in ``dvc.yaml`` and ``.gitignore``;
messages carry the ``Ckpt-Id``/``Ckpt-Name`` trailers. A sample of sidecars is checked
against the schema.

By default the artifacts have no bytes (their hashes are made up: enough for ``list``). With
``artifact_size`` each checkpoint gets that many bytes of its own content, sealed in its
sidecar and pointer and written into the repository's DVC cache as DVC lays objects out
(``.dvc/cache/files/md5/<2 hex>/<rest>``, read-only), so ``verify`` finds every one intact.
"""

from __future__ import annotations

import hashlib
import os
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import common
from common import Sandbox

NAMES = 10
START = datetime(2026, 1, 1, tzinfo=UTC)


def template(box: Sandbox) -> dict[str, Any]:
    """The sidecar of one real save, to copy from."""
    from ckptgit import sidecar

    repo = box.ckpt_repo("template")
    model = repo / "models" / "clf.safetensors"
    _write_model(model)
    box.sh(["git", "ckpt", "save", "models/clf.safetensors", "-n", "clf", "-q",
            "--metric", "loss=0.5", "--metric", "acc=0.8", "--param", "lr=0.001",
            "--param", "batch=32", "--seed", "torch=42", "--step", "0"], repo)
    raw = (repo / "models" / "clf.safetensors.ckpt.yaml").read_bytes()
    return sidecar.load(raw)


def _write_model(path: Path) -> None:
    """A small safetensors file with 64 tensors (header written by hand, no numpy needed)."""
    import json
    import struct

    header: dict[str, Any] = {"__metadata__": {"format": "pt"}}
    offset = 0
    for layer in range(16):
        for part, shape in (("q.weight", [8, 8]), ("k.weight", [8, 8]), ("v.weight", [8, 8]),
                            ("norm.bias", [8])):
            size = 4 * (shape[0] * (shape[1] if len(shape) > 1 else 1))
            header[f"encoder.layer.{layer}.{part}"] = {
                "dtype": "F32", "shape": shape, "data_offsets": [offset, offset + size]}
            offset += size
    blob = json.dumps(header).encode()
    blob += b" " * (-len(blob) % 8)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(struct.pack("<Q", len(blob)) + blob + bytes(offset))


def _doc(template: dict[str, Any], i: int, name: str, parent: str | None,
         step: int, rng: random.Random, art: tuple[int, str, str] | None) -> dict[str, Any]:
    """The template with what differs between saves replaced (shallow: the rest is shared)."""
    when = START + timedelta(minutes=i)
    millis = int(when.timestamp() * 1000)
    doc = dict(template)
    doc["artifact"] = dict(template["artifact"])
    doc["id"] = f"{millis:011x}"[-11:] + f"{rng.getrandbits(20):05x}"
    doc["name"] = name
    doc["created_at"] = when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    size, md5, sha256 = art or _fake_artifact(name, i, rng)
    doc["artifact"].update(path=f"models/{name}.safetensors", size=size, md5=md5, sha256=sha256)
    doc["metrics"] = {"loss": round(1 / (step + 2), 6), "acc": round(1 - 1 / (step + 3), 6)}
    doc["params"] = {"lr": 0.001, "batch": 32, "layers": 16}
    doc["step"] = step
    doc["parent"] = parent
    return doc


def _fake_artifact(name: str, i: int, rng: random.Random) -> tuple[int, str, str]:
    seed = f"{name}-{i}".encode()
    return (90_000_000 + rng.randrange(1000), hashlib.md5(seed, usedforsecurity=False).hexdigest(),
            hashlib.sha256(seed).hexdigest())


def _real_artifact(repo: Path, i: int, size: int, rng: random.Random) -> tuple[int, str, str]:
    """``size`` bytes unlike any other checkpoint's, stored as DVC stores a cache object."""
    data = i.to_bytes(8, "little") + rng.randbytes(max(0, size - 8))
    md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
    obj = object_path(repo, md5)
    obj.parent.mkdir(parents=True, exist_ok=True)
    obj.write_bytes(data)
    os.chmod(obj, 0o444)
    return len(data), md5, hashlib.sha256(data).hexdigest()


def sizes(label: str, rounds: dict[int, int],
          artifact_size: int) -> Iterator[tuple[Sandbox, Path, int, list[Path], int]]:
    """For each size n of a scale curve: (sandbox, a repository holding n synthesized saves
    with ``artifact_size`` bytes each, n, their cache objects, rounds to time at n)."""
    with common.sandbox(label) as box:
        made = template(box)
        for n, times in rounds.items():
            repo = box.ckpt_repo(f"{label}-{n}")
            objects = synthesize(box, repo, made, n, artifact_size=artifact_size)
            yield box, repo, n, objects, times


def object_path(repo: Path, md5: str) -> Path:
    """DVC's default cache layout (``git ckpt init`` does not move the cache)."""
    return repo / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]


def synthesize(box: Sandbox, repo: Path, template: dict[str, Any], n: int,
               artifact_size: int = 0) -> list[Path]:
    """Append ``n`` save commits to ``repo``'s main branch with one ``git fast-import``.

    Returns the cache objects written (none unless ``artifact_size``); the work tree is left
    checked out at the new HEAD, clean.
    """
    from ckptgit import sidecar

    head = box.git(repo, "rev-parse", "HEAD").strip()
    dvc_yaml = (repo / "dvc.yaml").read_text() if (repo / "dvc.yaml").exists() else ""
    rng = random.Random(n)
    content = random.Random(f"bytes-{n}")  # apart, so the ids do not depend on artifact_size
    static: dict[str, str] = {}
    out: list[bytes] = []
    objects: list[Path] = []
    last: dict[str, tuple[str, int]] = {}
    declared: list[str] = []
    for i in range(n):
        name = "clf" if i % NAMES == 0 else f"clf-{i % NAMES}"
        parent, step = last.get(name, (None, -1))
        art = None
        if artifact_size:
            art = _real_artifact(repo, i, artifact_size, content)
            objects.append(object_path(repo, art[1]))
        doc = _doc(template, i, name, parent, step + 1, rng, art)
        if i < 20 or i % 997 == 0:
            sidecar.validate(doc, f"synthetic sidecar {i}")
        last[name] = (doc["id"], step + 1)
        rel = doc["artifact"]["path"]
        pointer = (f"outs:\n- md5: {doc['artifact']['md5']}\n  size: {doc['artifact']['size']}\n"
                   f"  hash: md5\n  path: {name}.safetensors\n")
        files = {rel + ".dvc": pointer, rel + ".ckpt.yaml": _dump(doc, template, static)}
        if name not in declared:
            declared.append(name)
            dvc_yaml = "artifacts:\n" + "".join(
                f"  {d}:\n    path: models/{d}.safetensors\n    type: model\n" for d in declared)
            files["dvc.yaml"] = dvc_yaml
            files["models/.gitignore"] = "".join(f"/{d}.safetensors\n" for d in declared)
        message = (f"ckpt: save {name} step {step + 1} ({doc['id'][:8]})\n\n"
                   f"Ckpt-Id: {doc['id']}\nCkpt-Name: {name}\n")
        out.append(_commit(i, message, files, head if i == 0 else None))
    box.sh(["git", "fast-import", "--quiet", "--done"], repo, input=b"".join(out) + b"done\n")
    box.git(repo, "reset", "-q", "--hard")
    return objects


def _dump(doc: dict[str, Any], template: dict[str, Any], static: dict[str, str]) -> str:
    """``sidecar.dump(doc)``, with the sections shared with the template dumped only once."""
    from ckptgit import sidecar

    parts = []
    for key, value in doc.items():
        if value is template.get(key) and isinstance(value, (dict, list)):
            if key not in static:
                static[key] = sidecar.dump({key: value})
            parts.append(static[key])
        else:
            parts.append(sidecar.dump({key: value}))
    return "".join(parts)


def _commit(i: int, message: str, files: dict[str, str], first_parent: str | None) -> bytes:
    stamp = int((START + timedelta(minutes=i)).timestamp())
    ident = f"Ada Trainer <ada@example.com> {stamp} +0000"
    msg = message.encode()
    parts = [f"commit refs/heads/main\nauthor {ident}\ncommitter {ident}\n".encode(),
             b"data %d\n" % len(msg), msg, b"\n"]
    if first_parent:
        parts.append(f"from {first_parent}\n".encode())
    for path, text in files.items():
        data = text.encode()
        parts += [f"M 100644 inline {path}\n".encode(), b"data %d\n" % len(data), data, b"\n"]
    parts.append(b"\n")
    return b"".join(parts)
