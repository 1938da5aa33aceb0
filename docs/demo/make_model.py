"""Write a small, deterministic "trained" model as safetensors for the demo.

Each epoch nudges the weights so consecutive checkpoints really differ, the way training does.
Usage: python make_model.py OUT.safetensors EPOCH
"""

from __future__ import annotations

import sys

import numpy as np
from safetensors.numpy import save_file


def main() -> None:
    out, epoch = sys.argv[1], int(sys.argv[2])
    rng = np.random.default_rng(1234)
    layers = {
        "embed.weight": (512, 64),
        "encoder.0.attn.weight": (64, 64),
        "encoder.0.mlp.weight": (256, 64),
        "encoder.1.attn.weight": (64, 64),
        "encoder.1.mlp.weight": (256, 64),
        "head.weight": (4, 64),
        "head.bias": (4,),
    }
    tensors = {}
    for name, shape in layers.items():
        base = rng.standard_normal(shape).astype(np.float32) * 0.02
        drift = np.random.default_rng(epoch * 97 + len(name)).standard_normal(shape)
        tensors[name] = (base + drift.astype(np.float32) * 0.002 * epoch).astype(np.float32)
    save_file(tensors, out, metadata={"format": "pt", "epoch": str(epoch)})


if __name__ == "__main__":
    main()
