from __future__ import annotations

from ckptgit.commands.lock import _make

command = _make("unlock")
