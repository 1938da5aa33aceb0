"""The ``git ckpt`` command line: a lazy click group and the one error boundary.

Subcommands are imported only when invoked, so ``git ckpt --help`` never pays for DVC,
numpy or deepdiff.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from typing import Any

import click

from ckptgit.errors import CkptError

COMMANDS = {
    "init": ("ckptgit.commands.init", "Set up DVC storage, .ckpt/ config and hooks."),
    "save": ("ckptgit.commands.save", "Save a checkpoint as one atomic commit."),
    "list": ("ckptgit.commands.list", "List checkpoints, newest first."),
    "show": ("ckptgit.commands.show", "Show everything recorded about a checkpoint."),
    "restore": ("ckptgit.commands.restore", "Write a checkpoint's bytes back, verified."),
    "diff": ("ckptgit.commands.diff", "Show what changed between two checkpoints."),
    "rank": ("ckptgit.commands.rank", "Rank checkpoints by metrics, filtered with CEL."),
    "check": ("ckptgit.commands.check", "Check checkpoints for regressions and anomalies."),
    "promote": ("ckptgit.commands.promote", "Assign a stage with a signed, reasoned tag."),
    "revert": ("ckptgit.commands.revert", "Roll a stage back with a new signed tag."),
    "unassign": ("ckptgit.commands.unassign", "Take a stage away from a name (signed tag)."),
    "deprecate": ("ckptgit.commands.deprecate", "Retire a name (signed tag); promote refuses it."),
    "stages": ("ckptgit.commands.stages", "Which checkpoint holds each stage."),
    "history": ("ckptgit.commands.history", "Promotions and reverts; what a stage held when."),
    "lock": ("ckptgit.commands.lock", "Freeze a stage (signed tag)."),
    "unlock": ("ckptgit.commands.unlock", "Release a locked stage (signed tag)."),
    "hooks": ("ckptgit.commands.hooks", "Install the client hooks."),
    "hook": ("ckptgit.commands.hook", "Run one hook (called by the hook shims)."),
    "verify": ("ckptgit.commands.verify", "Check bytes, seals, records and tag signatures."),
    "fsck": ("ckptgit.commands.fsck", "Find and repair leftovers of interrupted saves."),
    "gc": ("ckptgit.commands.gc", "Remove cache objects no commit or work tree names."),
    "sign": ("ckptgit.commands.sign", "Sign a checkpoint with an OpenSSF model-signing manifest."),
    "audit": ("ckptgit.commands.audit", "Chain of custody: every save and tag event, verified."),
    "reproduce": ("ckptgit.commands.reproduce", "Set up a re-run of a checkpoint."),
    "migrate": ("ckptgit.commands.migrate", "Rewrite older sidecars on the current schema."),
    "remote": ("ckptgit.commands.remote", "DVC remotes for checkpoint bytes: default, mirrors."),
}
HIDDEN = {"hook"}

EPILOG = """\b
Examples:
  git ckpt init
  git ckpt save models/clf.safetensors --name clf --metrics metrics.json --param lr=3e-4
  git ckpt list --name clf
  git ckpt show clf~1
  git ckpt restore clf~2

A REF is an id or id prefix, NAME (latest), NAME@latest, NAME~N, NAME#STAGE, or a commit.
Each command has its own help with examples: 'git ckpt COMMAND -h'. 'git ckpt --help' opens
the man page.
"""


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return [c for c in COMMANDS if c not in HIDDEN]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module = importlib.import_module(COMMANDS[cmd_name][0])
        command: click.Command = module.command
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ckptgit", prog_name="git ckpt")
@click.option("--traceback", is_flag=True, hidden=True, help="Show Python tracebacks.")
@click.option("-C", "directory", metavar="PATH", help="Run as if started in PATH.")
def cli(traceback: bool, directory: str | None) -> None:
    """Accountable ML checkpoints: save, compare, promote and revert with git and DVC."""
    if directory:
        try:
            os.chdir(directory)
        except OSError as exc:
            raise CkptError(f"cannot change to {directory}: {exc.strerror}") from exc


class _WarningHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        click.echo(f"warning: {record.getMessage()}", err=True)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    show_traceback = "--traceback" in args or os.environ.get("CKPT_TRACEBACK") == "1"
    logger = logging.getLogger("ckptgit")
    # main() can run many times in one process (tests, embedding): one handler, one line each
    if not any(isinstance(h, _WarningHandler) for h in logger.handlers):
        logger.addHandler(_WarningHandler())
    logger.setLevel(logging.WARNING)
    logger.propagate = False
    try:
        result: Any = cli.main(args=args, prog_name="git ckpt", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        click.echo(f"error: {_one_line(exc.format_message())}{_usage_hint(exc)}", err=True)
        return 2 if isinstance(exc, click.UsageError) else int(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("error: aborted", err=True)
        return 130
    except KeyboardInterrupt:
        click.echo("error: interrupted", err=True)
        return 130
    except CkptError as exc:
        if show_traceback:
            raise
        click.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except BrokenPipeError:
        return 0
    except Exception as exc:  # noqa: BLE001 - the one boundary that turns crashes into a line
        if show_traceback:
            raise
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        click.echo(f"error: unexpected {type(exc).__name__}: {first} "
                   "(rerun with --traceback and report it)", err=True)
        return 1
    return int(result) if isinstance(result, int) else 0


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _usage_hint(exc: click.ClickException) -> str:
    ctx = getattr(exc, "ctx", None)
    if not isinstance(exc, click.UsageError) or ctx is None:
        return ""
    return f" (see '{ctx.command_path} -h')"


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
