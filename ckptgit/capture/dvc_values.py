"""A checkpoint's metrics and params in DVC's own files, so DVC's tools see them.

Each save commit also writes ``.ckpt/metrics/NAME.json`` and ``.ckpt/params/NAME.yaml`` (the
sidecar's ``metrics`` and ``params``) and lists them in ``dvc.yaml``'s top-level ``metrics:`` and
``params:``. One file per name, rewritten by each save of it: ``dvc metrics diff A B`` between two
save commits of a name shows how that name's metrics moved. The sidecar stays the record; these
are views of it.
"""

from __future__ import annotations

import json
from typing import Any

from ckptgit import yamlsafe

METRICS_DIR = ".ckpt/metrics"
PARAMS_DIR = ".ckpt/params"


def files_for(name: str) -> tuple[str, str]:
    return f"{METRICS_DIR}/{name}.json", f"{PARAMS_DIR}/{name}.yaml"


def metrics_text(metrics: dict[str, Any]) -> bytes:
    return (json.dumps(metrics, indent=2, sort_keys=True) + "\n").encode()


def params_text(params: dict[str, Any]) -> bytes:
    return yamlsafe.dump(params, sort_keys=True).encode()
