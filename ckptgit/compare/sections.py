"""Params, seeds, environment, data and code sections: what differs between two sidecars.

Structure comparison is deepdiff's job; this module only turns its tree view into ``Change``
rows with dotted paths, old and new values.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ckptgit.compare.result import Change, CodeDiff, FileChange
from ckptgit.model import Sidecar

_KINDS = {
    "values_changed": "changed",
    "type_changes": "changed",
    "dictionary_item_added": "added",
    "dictionary_item_removed": "removed",
    "iterable_item_added": "added",
    "iterable_item_removed": "removed",
    "attribute_added": "added",
    "attribute_removed": "removed",
    "set_item_added": "added",
    "set_item_removed": "removed",
}


def changes(old: Any, new: Any, prefix: str = "") -> list[Change]:
    """Every leaf that was added, removed or changed, in path order."""
    old = {} if old is None else old
    new = {} if new is None else new
    if old == new and repr(old) == repr(new):
        # nothing changed (equal values of the same types: 1 == 1.0 but their reprs differ;
        # a NaN is never equal to another): deepdiff and numpy, a third of a second to
        # import, stay unloaded when the sections two saves share are the same
        return []
    from deepdiff import DeepDiff
    from deepdiff.helper import NotPresent

    tree = DeepDiff(old, new, view="tree", verbose_level=2)
    rows: list[Change] = []
    for report, nodes in tree.items():
        kind = _KINDS.get(report)
        if kind is None:
            continue
        for node in nodes:
            path = _dotted(node.path(output_format="list"), prefix)
            before = None if isinstance(node.t1, NotPresent) else node.t1
            after = None if isinstance(node.t2, NotPresent) else node.t2
            rows.append(Change(path, kind, before, after))
    rows.sort(key=lambda c: c.path)
    return rows


def _dotted(parts: list[Any], prefix: str) -> str:
    text = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in parts).replace(".[", "[")
    return f"{prefix}.{text}" if prefix and text else (prefix or text)


def params(a: Sidecar, b: Sidecar) -> list[Change]:
    return changes(a.params, b.params)


def seeds(a: Sidecar, b: Sidecar) -> list[Change]:
    return changes(a.seeds, b.seeds)


def environment(a: Sidecar, b: Sidecar) -> list[Change]:
    """Packages added/removed/changed, python, accelerators, container, platform, env vars."""
    return changes(a.environment, b.environment)


def data(a: Sidecar, b: Sidecar) -> list[Change]:
    """Inputs by path: a changed hash is the one thing that matters about training data."""
    old = {d.path: d for d in a.data or ()}
    new = {d.path: d for d in b.data or ()}
    rows = []
    for path in sorted(set(old) | set(new), key=str):
        if path not in new:
            rows.append(Change(str(path), "removed", old[path].md5, None))
        elif path not in old:
            rows.append(Change(str(path), "added", None, new[path].md5))
        elif old[path].md5 != new[path].md5:
            rows.append(Change(str(path), "changed", old[path].md5, new[path].md5))
    return rows


Numstat = Callable[[str, str], list[tuple[str, int | None, int | None]]]
Counts = Callable[[str, str], tuple[int, int]]


def code(a: Sidecar, b: Sidecar, numstat: Numstat, counts: Counts) -> CodeDiff:
    """Commits and files between the two code commits (``git diff --numstat`` of them)."""
    old, new = a.code.to_doc(), b.code.to_doc()
    old_commit, new_commit = a.code.commit, b.code.commit
    state = changes({k: v for k, v in old.items() if k != "commit"},
                    {k: v for k, v in new.items() if k != "commit"})
    if not old_commit or not new_commit or old_commit == new_commit:
        return CodeDiff(old_commit, new_commit, changes=tuple(state))
    ahead, behind = counts(old_commit, new_commit)
    files = tuple(FileChange(p, add, rm) for p, add, rm in numstat(old_commit, new_commit))
    return CodeDiff(old_commit, new_commit, ahead, behind, files, tuple(state))
