"""``git ckpt ARGS`` as the release shipping sidecar schema version 2 would run it (the kill
tests' migrate scenario needs a real process at v2; see test_migrate.use_v2)."""

from __future__ import annotations

import sys

import pytest
from test_migrate import use_v2

from ckptgit.main import main

if __name__ == "__main__":
    with pytest.MonkeyPatch.context() as patch:
        use_v2(patch)
        sys.exit(main(sys.argv[1:]))
