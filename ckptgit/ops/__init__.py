"""The work behind each command, free of any CLI: callable from Python, tested directly."""

from __future__ import annotations

import ckptgit.governance  # noqa: F401 - registers the one tag verifier with REF resolution
