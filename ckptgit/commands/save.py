from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ckptgit.commands._common import emit_json, human_size, json_option, progress

if TYPE_CHECKING:
    from ckptgit.capture.sources import Supplied


@click.command("save")
@click.argument("path", type=click.Path(path_type=str))
@click.option("-n", "--name", required=True, help="Checkpoint name, e.g. 'clf'.")
@click.option("--metrics", "metrics_file", metavar="FILE", help="Metrics file (JSON or YAML).")
@click.option("--metric", "metric_pairs", multiple=True, metavar="K=V", help="One metric.")
@click.option("--params", "params_file", metavar="FILE", help="Params file (JSON or YAML).")
@click.option("--param", "param_pairs", multiple=True, metavar="K=V", help="One param.")
@click.option("--seed", "seed_pairs", multiple=True, metavar="K=V", help="A seed, e.g. torch=42.")
@click.option("--data", multiple=True, metavar="PATH",
              help="A DVC-tracked input it was trained on.")
@click.option("--eval-data", "eval_data", multiple=True, metavar="[SECTION=]PATH",
              help="DVC-tracked data its metrics were computed on (all metrics, or the "
                   "metrics section SECTION); diff/rank/check warn when it differs; repeat.")
@click.option("--with", "companions", multiple=True, metavar="PATH",
              help="A companion saved and sealed with it (tokenizer, eval results); repeat.")
@click.option("--distributions", "distributions_file", metavar="FILE",
              help="Histograms/calibration curves (JSON or YAML; see docs/compare.md).")
@click.option("--slices", "slices_file", metavar="FILE",
              help="Per-slice metrics (JSON or YAML; see docs/compare.md).")
@click.option("--step", type=click.IntRange(min=0), help="Training step.")
@click.option("--epoch", type=click.FloatRange(min=0), help="Training epoch.")
@click.option("--parent", metavar="REF",
              help="Checkpoint this one continues (default: latest of NAME).")
@click.option("--note", metavar="TEXT", help="What changed and why.")
@click.option("--label", "labels", multiple=True, metavar="L", help="A label; repeat for more.")
@click.option("--push", is_flag=True, help="Push the bytes to the DVC remote after saving.")
@click.option("--strict", is_flag=True, help="Refuse unreadable safetensors headers.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), metavar="N",
              help="Files of a directory stored, and objects pushed, N at a time "
                   "(default: one per core).")
@click.option("--override", "overrides", multiple=True, metavar="RULE",
              help="Accept a failing guardrail for this save (needs --rationale); repeat.")
@click.option("--rationale", metavar="TEXT",
              help="Why the overridden guardrails do not hold here (recorded in the sidecar "
                   "and the commit trailers).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@json_option
def command(path: str, name: str, metrics_file: str | None, metric_pairs: tuple[str, ...],
            params_file: str | None, param_pairs: tuple[str, ...], seed_pairs: tuple[str, ...],
            data: tuple[str, ...], eval_data: tuple[str, ...], companions: tuple[str, ...],
            distributions_file: str | None, slices_file: str | None, step: int | None,
            epoch: float | None, parent: str | None, note: str | None,
            labels: tuple[str, ...], push: bool, strict: bool, jobs: int | None,
            overrides: tuple[str, ...], rationale: str | None, quiet: bool,
            as_json: bool) -> None:
    """Save PATH (a file or directory) as checkpoint NAME, in one atomic commit.

    The commit holds only PATH.dvc, the sidecar PATH.ckpt.yaml, NAME's metrics and params
    for DVC (.ckpt/metrics/NAME.json, .ckpt/params/NAME.yaml) and dvc.yaml/.gitignore entries;
    your other staged and unstaged changes stay as they were. A name may move between paths
    (one file per epoch): each save records its own PATH, and restore writes that one.
    Without --metrics/--params, dvclive's dvclive/metrics.json and dvclive/params.yaml are
    read when written since NAME's last save; their "step" is the checkpoint's step. The
    files that supplied metrics and params are named on stderr (and under "sources" in --json).

    \b
    Examples:
      git ckpt save models/clf.safetensors -n clf --metrics metrics.json --params params.yaml
      git ckpt save models/clf.safetensors -n clf --metric acc=0.91 --param lr=3e-4 --seed torch=42
      git ckpt save out/tokenizer -n tok --data data/train.csv --push
      git ckpt save models/clf.safetensors -n clf --metrics m.json --eval-data data/val.csv
      git ckpt save out/llm -n llm --jobs 8 --push   # a directory of shards
      git ckpt save models/clf.safetensors -n clf --override sgd-lr --rationale "lr sweep"

    Guardrails in .ckpt/config.yaml are evaluated first (docs/policy.md): an error-level
    failure refuses the save with exit 4, a paused name refuses every save until
    'git ckpt resume NAME'.
    """
    from ckptgit.capture import values
    from ckptgit.ops.save import SaveRequest, save
    from ckptgit.repo import Repo

    repo = Repo.open(".")
    req = SaveRequest(
        path=path, name=name, metrics_file=metrics_file, params_file=params_file,
        metrics=values.parse_pairs(metric_pairs, "metric"),
        params=values.parse_pairs(param_pairs, "param"),
        seeds=values.parse_pairs(seed_pairs, "seed"),
        data=data, eval_data=eval_data, companions=companions, step=step, epoch=epoch,
        parent=parent, note=note, labels=labels,
        distributions=_read(distributions_file, "distributions"),
        slices=_read(slices_file, "slices"),
        push=push, strict=strict, jobs=jobs, overrides=overrides, rationale=rationale,
        command=["git", "ckpt", "save", *sys.argv[2:]],
        cwd=Path.cwd(),
    )
    size = _size(Path(path))
    told: list[Supplied] = []

    def tell(supplied: Supplied) -> None:
        told.append(supplied)
        if not as_json and (supplied.files or supplied.skipped):
            click.echo(f"{name}: {supplied.describe()}", err=True)

    with progress(f"saving {name}", size, quiet or as_json,
                  then="pushing to the DVC remote" if push else None) as bar:
        ckpt = save(repo, req, progress=bar, inputs=tell)
    if as_json:
        emit_json({"id": ckpt.id, "name": ckpt.name, "commit": ckpt.commit,
                   "created_at": ckpt.created_at, "step": ckpt.step, "parent": ckpt.parent,
                   "artifact": {"path": ckpt.path, "md5": ckpt.md5, "sha256": ckpt.sha256,
                                "size": ckpt.size},
                   "sources": told[0].to_dict() if told else None})
        return
    click.echo(f"saved {ckpt.name} {ckpt.short_id} ({human_size(ckpt.size)}) in commit "
               f"{ckpt.commit[:12]}" + (" and pushed" if push else ""))


def _read(path: str | None, what: str) -> dict[str, Any] | None:
    from ckptgit.capture import values

    return values.read_file(Path(path), what) if path else None


def _size(path: Path) -> int:
    try:
        if path.is_dir():
            return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
        return path.stat().st_size
    except OSError:
        return 0
