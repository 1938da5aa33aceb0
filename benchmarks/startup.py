"""Start-up: ``git-ckpt --help`` against ``python -c pass`` (the interpreter's own floor).

Also checks what the help path imports: DVC, numpy or deepdiff there would cost hundreds of
milliseconds on every command.
"""

from __future__ import annotations

import json
import shutil
import sys
from typing import Any

import common

_IMPORTS = (
    "import sys, ckptgit.main as m\n"
    "try:\n    m.cli.main(args=['--help'], standalone_mode=False)\n"
    "except SystemExit:\n    pass\n"
    "import json; print(json.dumps(sorted(k for k in sys.modules "
    "if k.split('.')[0] in ('dvc', 'numpy', 'deepdiff'))), file=sys.stderr)"
)


def run(quick: bool) -> list[dict[str, Any]]:
    rounds = 5 if quick else 15
    entry = shutil.which("git-ckpt")
    if entry is None:
        return [common.na("git-ckpt --help", "git-ckpt is not installed", "≤ 150 ms")]
    with common.sandbox("startup") as box:
        cases = {
            "ours": lambda: box.sh([entry, "--help"]),
            "floor": lambda: box.sh([sys.executable, "-c", "pass"]),
            "git": lambda: box.sh(["git", "ckpt", "-h"]),
        }
        times = common.interleave(cases, rounds)
        heavy = json.loads(box.sh([sys.executable, "-c", _IMPORTS]).stderr or b"[]")
    med = {k: common.median(v) for k, v in times.items()}
    note = f"median of {rounds}"
    if heavy:
        note += f"; help imports {', '.join(heavy[:5])}"
    return [
        common.row("git-ckpt --help", med["ours"], med["floor"], baseline_name="python -c pass",
                   max_seconds=0.15, note=note),
        common.row("git ckpt -h (through git)", med["git"], med["floor"],
                   baseline_name="python -c pass", max_seconds=0.15),
    ]


if __name__ == "__main__":
    common.main(run)
