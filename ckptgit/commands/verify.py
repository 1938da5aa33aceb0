from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import click

from ckptgit.commands._common import emit_json, json_option

if TYPE_CHECKING:
    from ckptgit.integrity.findings import Finding, Report


@click.command("verify")
@click.argument("refs", nargs=-1, metavar="[REF]...")
@click.option("--all", "all_", is_flag=True, help="Every checkpoint reachable from HEAD "
              "(the default when no REF is given).")
@click.option("--offline", is_flag=True, help="Never read the DVC remote.")
@click.option("--allow-missing", is_flag=True,
              help="Bytes found nowhere are reported but do not fail.")
@click.option("--remote", "replicas", is_flag=True, help="Also report which DVC remotes "
              "(the default and each mirror) hold every object of each checkpoint.")
@click.option("--oms", is_flag=True, help="Also check OpenSSF model-signing signatures.")
@click.option("--key", "oms_key", metavar="PUB", help="Public key for --oms (PEM).")
@click.option("-j", "--jobs", type=click.IntRange(min=1), help="Files hashed at once "
              "(default: one per CPU core).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@json_option
def command(refs: tuple[str, ...], all_: bool, offline: bool, allow_missing: bool,
            replicas: bool, oms: bool, oms_key: str | None, jobs: int | None, quiet: bool,
            as_json: bool) -> int:
    """Check that checkpoints are exactly what their saves recorded.

    Bytes (work tree, cache, else the DVC remote) must hash to the sealed sha256, the DVC
    pointer must name the sealed object, the sidecar must match its schema and no commit may
    have rewritten a saved sidecar or pointer. Promotion tags are checked for a valid
    signature by an allowed signer, their trailers and their Ckpt-Seal. One line per failure;
    exit 3 on any.

    \b
    Examples:
      git ckpt verify --all
      git ckpt verify clf#production --offline
      git ckpt verify --all --json | jq '.findings'
      git ckpt verify --remote --json | jq '.replicas'
    """
    from ckptgit.errors import UsageError
    from ckptgit.ops.verify import verify_everything
    from ckptgit.repo import Repo

    if all_ and refs:
        raise UsageError("give REFs or --all, not both")
    repo = Repo.open(".")
    with _bar(quiet or as_json) as (advance, set_total):
        report = verify_everything(repo, list(refs) or None, offline=offline, workers=jobs,
                                   oms=oms, oms_key=oms_key, progress=advance,
                                   on_total=set_total)
    failures = report.failures(allow_missing)
    held = _holdings(repo, refs) if replicas else None
    if as_json:
        emit_json({**report.to_dict(allow_missing),
                   **({"replicas": [h.to_dict() for h in held]} if held is not None else {})})
    else:
        for finding in failures:
            click.echo(finding.line())
        if held is not None:
            _replica_lines(held)
        _summary(report, failures)
    if any(f.kind != "ratification" for f in failures):
        return 3
    if failures:
        return 1  # only emergency reverts overdue for ratification
    return 1 if held and any(h.missing_from for h in held) and not allow_missing else 0


def _holdings(repo: Any, refs: Sequence[str]) -> list[Any]:
    from ckptgit.ops import remote

    return remote.holdings(repo, refs)


def _replica_lines(held: Sequence[Any]) -> None:
    """One line per checkpoint some replica lacks, then a count per replica."""
    names: dict[str, int] = {}
    for h in held:
        for n in (*h.held_by, *h.missing_from):
            names.setdefault(n, 0)
        for n in h.held_by:
            names[n] += 1
        if h.missing_from:
            click.echo(f"{h.name} {h.id[:8]}: not on {', '.join(h.missing_from)}")
    for n, count in names.items():
        click.echo(f"replica {n}: holds {count} of {len(held)} checkpoint(s)", err=True)


def _summary(report: Report, failures: Sequence[Finding]) -> None:
    states = [s.state for s in report.checkpoints]
    counts = ", ".join(f"{states.count(k)} {k}" for k in ("ok", "failed", "unverifiable", "pruned")
                       if states.count(k))
    mib = report.bytes_hashed / (1 << 20)
    verdict = "FAILED" if failures else "all good"
    click.echo(f"verified {len(states)} checkpoint(s), {mib:.1f} MiB hashed: "
               f"{counts or 'nothing to check'}; {verdict}", err=True)


class _bar:
    """A progress bar once the total is known (it is only after planning which bytes to read)."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self._ctx: Any = None
        self._advance: Callable[[int], None] | None = None

    def __enter__(self) -> tuple[Callable[[int], None], Callable[[int], None]]:
        return self.advance, self.set_total

    def set_total(self, total: int) -> None:
        from ckptgit.commands._common import progress

        self._ctx = progress("verifying", total, self.quiet)
        self._advance = self._ctx.__enter__()

    def advance(self, n: int) -> None:
        if self._advance is not None:
            self._advance(n)

    def __exit__(self, *exc: object) -> None:
        if self._ctx is not None:
            self._ctx.__exit__(*exc)
