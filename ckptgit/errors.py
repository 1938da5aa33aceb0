"""The one exception tree. Each error carries the exit code the CLI boundary uses (STYLE.md)."""

from __future__ import annotations


class CkptError(Exception):
    """An error the user can act on. The message is one line that says what to do next."""

    exit_code = 1


class UsageError(CkptError):
    """Bad input: an argument, a file or a reference that cannot be used."""

    exit_code = 2


class NotARepoError(UsageError):
    pass


class RefError(UsageError):
    """A checkpoint reference that is unknown or ambiguous."""

    def __init__(self, message: str, candidates: list[str] | None = None) -> None:
        self.candidates = list(candidates or [])
        if self.candidates:
            shown = ", ".join(self.candidates[:8])
            more = f" (+{len(self.candidates) - 8} more)" if len(self.candidates) > 8 else ""
            message = f"{message}; candidates: {shown}{more}"
        super().__init__(message)


class IntegrityError(CkptError):
    """Bytes, seals or signatures do not match what was recorded."""

    exit_code = 3


class MissingDataError(IntegrityError):
    """The bytes of a checkpoint are in neither the cache nor the remote."""


class PolicyError(CkptError):
    """Refused by the repository's policy."""

    exit_code = 4


class ExternalError(CkptError):
    """A tool we drive (git, DVC) failed in a way we did not foresee."""

    exit_code = 1


class RunPaused(PolicyError):
    """Saves of a name are paused by a guardrail until ``git ckpt resume NAME``.

    A training loop catches this to stop cleanly: ``except ckptgit.RunPaused: break``.
    """

    def __init__(self, message: str, name: str = "", rule: str = "") -> None:
        super().__init__(message)
        self.name = name
        self.rule = rule
