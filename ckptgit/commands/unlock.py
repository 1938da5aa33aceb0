"""``git ckpt unlock``: built by ``commands/lock.py`` (lock and unlock share their options)."""

from __future__ import annotations

from ckptgit.commands.lock import make

command = make("unlock")
