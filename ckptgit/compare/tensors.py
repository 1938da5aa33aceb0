"""Tensor section from the header summaries the sidecars already carry: no weight bytes read."""

from __future__ import annotations

from collections.abc import Mapping

from ckptgit.compare.result import TensorChange, TensorsDiff, TensorSpec
from ckptgit.model import Sidecar


def specs(doc: Sidecar) -> dict[str, TensorSpec] | None:
    summary = doc.tensors
    if not isinstance(summary, Mapping):
        return None
    return {t["name"]: TensorSpec(t["name"], str(t["dtype"]), tuple(int(d) for d in t["shape"]))
            for t in summary.get("tensors") or []}


def compare(a: Sidecar, b: Sidecar) -> TensorsDiff:
    """Added, removed, and shape- or dtype-changed tensors, with parameter counts."""
    old, new = specs(a), specs(b)
    if old is None or new is None:
        return TensorsDiff(available=False)
    sa, sb = a.tensors or {}, b.tensors or {}
    changed = tuple(TensorChange(n, old[n], new[n]) for n in old
                    if n in new and old[n] != new[n])
    return TensorsDiff(
        available=True,
        old_count=int(sa.get("count", len(old))), new_count=int(sb.get("count", len(new))),
        old_parameters=int(sa.get("parameters", 0)), new_parameters=int(sb.get("parameters", 0)),
        added=tuple(s for n, s in new.items() if n not in old),
        removed=tuple(s for n, s in old.items() if n not in new),
        changed=changed,
    )
