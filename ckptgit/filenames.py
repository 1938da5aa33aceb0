"""The names of the files a save writes beside the user's own: one definition, importable by
the hooks for the price of a constant (the values in model.py cost milliseconds to build)."""

from __future__ import annotations

SIDECAR_SUFFIX = ".ckpt.yaml"  # models/clf.safetensors -> models/clf.safetensors.ckpt.yaml
