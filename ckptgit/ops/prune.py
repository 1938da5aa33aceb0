"""``git ckpt prune``: free the bytes of checkpoints the ``retention:`` rules let go.

The plan is ``policy/retention.py``'s. Bytes shared with a kept checkpoint stay. With
``--remote`` the objects leave the default DVC remote first (an unreachable remote stops the
run before anything local changes), then the local cache. Each run is one record on
``refs/ckpt/retention`` (trailers: ``Ckpt-Action: prune``, one ``Ckpt-Pruned`` per checkpoint,
``Prune-Rule``), which ``list``, ``show``, ``restore`` and ``audit`` read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ckptgit import storage, workfiles
from ckptgit.errors import UsageError
from ckptgit.model import Checkpoint
from ckptgit.policy import attached, records, retention, settings
from ckptgit.repo import Repo


@dataclass
class PruneResult:
    decisions: list[retention.Decision]
    objects: list[str]  # to remove from the local cache (newly pruned)
    remote_objects: list[str]  # to remove from the remote (every pruned one: an earlier
    # local-only run left the remote copies)
    bytes: int  # recorded size of what is pruned (bytes shared with kept ones not counted)
    dry_run: bool
    remote: bool
    freed_local: int = 0
    freed_remote: int = 0
    record: str | None = None
    notes: list[str] = field(default_factory=list)
    # companions and data inputs freed with them: kind, path, md5, size
    attached: list[dict[str, Any]] = field(default_factory=list)

    @property
    def pruned(self) -> list[retention.Decision]:
        return [d for d in self.decisions if not d.keep and d.rule != "already-pruned"]

    def to_dict(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "remote": self.remote,
                "count": len(self.pruned), "bytes": self.bytes, "objects": len(self.objects),
                "freed_local": self.freed_local, "freed_remote": self.freed_remote,
                "record": self.record, "notes": self.notes, "attached": self.attached,
                "checkpoints": [d.to_dict() for d in self.decisions]}


@dataclass(frozen=True)
class PrunedMark:
    when: str
    rule: str
    record: str


def pruned(repo: Repo) -> dict[str, PrunedMark]:
    """id -> when, by which rule and in which record its bytes were pruned."""
    out: dict[str, PrunedMark] = {}
    for rec in records.read(repo.git, records.RETENTION_REF):
        for item in rec.body.get("pruned") or []:
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                out.setdefault(item["id"], PrunedMark(str(rec.body.get("when", rec.when)),
                                                      str(item.get("rule", "")), rec.commit))
    return out


def prune(repo: Repo, dry_run: bool = True, remote: bool = False,
          now: datetime | None = None) -> PruneResult:
    rules = settings.load(repo.root).retention
    if not rules.configured:
        raise UsageError("no retention rules: add a 'retention:' section to .ckpt/config.yaml "
                         "(see docs/retention.md), e.g. 'retention: {keep_last: 5}'")
    with workfiles.no_save_running(repo.git):
        result = _plan(repo, rules, now or datetime.now(UTC), dry_run, remote)
        if remote:
            storage.check_remote(repo.root)  # unreachable: stop before anything changes
        if dry_run or not (result.objects or (remote and result.remote_objects)):
            return result
        if remote:
            result.freed_remote = storage.remove_remote(repo.root, result.remote_objects)
        result.freed_local = storage.remove_cached(repo.root, result.objects)
        result.record = _record(repo, result, rules)
    return result


def _plan(repo: Repo, rules: settings.Retention, now: datetime, dry_run: bool,
          remote: bool) -> PruneResult:
    ckpts = repo.checkpoints()
    tagged = {r.target or r.object for r in repo.git.for_each_ref("refs/tags/")}
    marks = pruned(repo)
    decisions = retention.plan(ckpts, rules, tagged, now, repo.config.metric_goals,
                               {k: v.when for k, v in marks.items()})
    going = [d.ckpt for d in decisions if not d.keep and d.rule != "already-pruned"]
    staying = [d.ckpt for d in decisions if d.keep]
    kept_oids = {o for c in staying for o in _oids(repo, c)}
    objects = sorted({o for c in going for o in _oids(repo, c)} - kept_oids)
    gone_before = [d.ckpt for d in decisions if d.rule == "already-pruned"]
    remote_objects = sorted(set(objects) | ({o for c in gone_before for o in _oids(repo, c)}
                                            - kept_oids)) if remote else []
    kept_md5 = {c.md5 for c in staying}
    size = sum({c.md5: c.size for c in going if c.md5 not in kept_md5}.values())
    notes: list[str] = []
    freed, extra_objects, extra_remote, needed = _attached(repo, going, staying, gone_before,
                                                           kept_oids, notes)
    objects = sorted((set(objects) - needed) | extra_objects)
    remote_objects = sorted((set(remote_objects) - needed) | extra_objects | extra_remote
                            ) if remote else []
    size += sum({a.md5: a.size or 0 for a in freed if a.md5 not in kept_md5}.values())
    if any(d.rule == "stage-tag" and "maximum age" in " ".join(d.reasons) for d in decisions):
        notes.append("some checkpoints are past a label's maximum age but a tag names them: "
                     "tags win, their bytes stay (see each reason)")
    return PruneResult(decisions, objects, remote_objects, size, dry_run, remote, notes=notes,
                       attached=[{"kind": a.kind, "path": a.path, "md5": a.md5, "size": a.size}
                                 for a in freed])


def _attached(repo: Repo, going: list[Checkpoint], staying: list[Checkpoint],
              gone_before: list[Checkpoint], kept_oids: set[str], notes: list[str]
              ) -> tuple[list[attached.Attached], set[str], set[str], set[str]]:
    """Companions and data inputs only pruned checkpoints name: what they free (listed), their
    objects, those of earlier runs' (for the remote), and what must stay. Anything a kept
    checkpoint or a pointer in the index or work tree names stays."""
    if not going and not gone_before:
        return [], set(), set(), set()
    found = attached.of(repo.git, [*going, *staying, *gone_before])
    if found.unreadable:
        notes.append(f"{len(found.unreadable)} sidecar(s) did not load (e.g. "
                     f"{found.unreadable[0][:12]}): companions and data inputs are kept")
        return [], set(), set(), set()
    live = attached.live_md5s(repo.git, repo.root)
    keep = set(kept_oids) | live
    for c in staying:
        for a in found.by_id.get(c.id, ()):
            keep.add(a.md5)
            keep.update(storage.object_ids(repo.root, a.pointer()))

    def free(ckpts: list[Checkpoint]) -> tuple[list[attached.Attached], set[str]]:
        items = {a.md5: a for c in ckpts for a in found.by_id.get(c.id, ()) if a.md5 not in keep}
        oids = {o for a in items.values() for o in storage.object_ids(repo.root, a.pointer())}
        return sorted(items.values(), key=lambda a: (a.kind, a.path)), oids - keep

    freed, oids = free(going)
    _, earlier = free(gone_before)
    return freed, oids, earlier, keep - kept_oids


def _oids(repo: Repo, c: Checkpoint) -> list[str]:
    pointer = storage.Pointer(c.md5, c.size, c.path)
    return storage.object_ids(repo.root, pointer)


def _record(repo: Repo, result: PruneResult, rules: settings.Retention) -> str:
    body = {"when": records.now(), "who": repo.git.identity() or "", "remote": result.remote,
            "freed": result.freed_local, "freed_remote": result.freed_remote,
            "objects": len(result.objects),
            "attached": result.attached,
            "rules": {k: v for k, v in rules.__dict__.items() if k != "configured"},
            "pruned": [{"id": d.ckpt.id, "name": d.ckpt.name, "rule": d.rule,
                        "size": d.ckpt.size} for d in result.pruned]}
    trailers = {"Ckpt-Action": ["prune"],
                "Ckpt-Pruned": [d.ckpt.id for d in result.pruned],
                "Prune-Rule": sorted({d.rule for d in result.pruned})}
    return records.append(repo.git, records.RETENTION_REF,
                          f"ckpt: prune {len(result.pruned)} checkpoint(s)", body, trailers)
