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
    "propose": ("ckptgit.commands.propose", "Propose a promotion as a branch for a pull request."),
    "review": ("ckptgit.commands.review", "What a reviewer needs to judge a request, on one page."),
    "approve": ("ckptgit.commands.approve", "Sign a request's approval with your own SSH key."),
    "reject": ("ckptgit.commands.reject", "Sign a request's rejection with your own SSH key."),
    "ratify": ("ckptgit.commands.ratify", "Sign the ratification of an emergency revert."),
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
    "report": ("ckptgit.commands.report", "Write an offline report site and executive summary."),
    "card": ("ckptgit.commands.card", "Print a checkpoint's Hugging Face model card."),
    "completion": ("ckptgit.commands.completion", "Print a shell completion script."),
    "help": ("ckptgit.commands.help", "Print a reference page, e.g. 'git ckpt help config'."),
    "policy": ("ckptgit.commands.policy", "Evaluate guardrails; how often each rule fired."),
    "resume": ("ckptgit.commands.resume", "Let a paused name save again (recorded)."),
    "prune": ("ckptgit.commands.prune", "Free checkpoint bytes by the retention rules."),
    "adopt": ("ckptgit.commands.adopt", "Make a model 'dvc add' tracks a first checkpoint."),
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

    def resolve_command(self, ctx: click.Context,
                        args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        name = click.utils.make_str(args[0]) if args else ""
        if args and name not in COMMANDS and not name.startswith("-"):
            import difflib

            close = difflib.get_close_matches(name, self.list_commands(ctx), n=3, cutoff=0.5)
            hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            ctx.fail(f"No such command {name!r}.{hint}")
        return super().resolve_command(ctx, args)

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
    report = _json_errors if wants_json(args) else _text_errors
    from ckptgit import limits

    limits.activate(limits.DEFAULT)  # until a repository's config says otherwise (Repo.open)
    try:
        result: Any = cli.main(args=args, prog_name="git ckpt", standalone_mode=False,
                               complete_var=COMPLETE_VAR)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        code = 2 if isinstance(exc, click.UsageError) else int(exc.exit_code)
        return report(f"{_one_line(exc.format_message())}{_usage_hint(exc)}", code)
    except click.exceptions.Abort:
        return report("aborted", 130)
    except KeyboardInterrupt:
        return report("interrupted", 130)
    except CkptError as exc:
        if show_traceback:
            raise
        return report(str(exc), exc.exit_code)
    except BrokenPipeError:
        return 0
    except Exception as exc:  # noqa: BLE001 - the one boundary that turns crashes into a line
        if show_traceback:
            raise
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return report(f"unexpected {type(exc).__name__}: {first} "
                      "(rerun with --traceback and report it)", 1)
    return int(result) if isinstance(result, int) else 0


COMPLETE_VAR = "_GIT_CKPT_COMPLETE"


def wants_json(args: list[str]) -> bool:
    """``--json`` (or ``--format json``) before any ``--``: errors are then JSON too."""
    head = args[:args.index("--")] if "--" in args else args
    pairs = zip(head, head[1:], strict=False)
    return "--json" in head or "--format=json" in head or any(
        a == "--format" and b == "json" for a, b in pairs)


def _text_errors(message: str, code: int) -> int:
    click.echo(f"error: {message}", err=True)
    return code


def _json_errors(message: str, code: int) -> int:
    """One JSON object on stdout, where the answer would have been: ``--json | jq`` always
    reads JSON. The exit code is the same as without --json."""
    import json

    click.echo(json.dumps({"error": message, "exit": code}))
    return code


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _usage_hint(exc: click.ClickException) -> str:
    ctx = getattr(exc, "ctx", None)
    if not isinstance(exc, click.UsageError) or ctx is None:
        return ""
    return f" (see '{ctx.command_path} -h')"


def entry() -> None:
    # One command per process: the cyclic collector's passes over the thousands of records a
    # command holds (10,000 tags, 10,000 saves) were a tenth to a fifth of `history` and
    # `verify` and freed almost nothing (reference counting frees what they drop). Startup's
    # objects are never scanned again, and young objects are collected 140 times less often.
    import gc

    gc.freeze()
    gc.set_threshold(100_000, 50, 100)
    sys.exit(main())


if __name__ == "__main__":
    entry()
