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
    found = _plain_changes(old, new)
    if found is None:
        found = _deep_changes(old, new)
    rows = [Change(_dotted(path, prefix), kind, before, after)
            for path, kind, before, after in found]
    rows.sort(key=lambda c: c.path)
    return rows


_Row = tuple[list[Any], str, Any, Any]


def _deep_changes(old: Any, new: Any) -> list[_Row]:
    from deepdiff import DeepDiff
    from deepdiff.helper import NotPresent

    tree = DeepDiff(old, new, view="tree", verbose_level=2)
    rows: list[_Row] = []
    for report, nodes in tree.items():
        kind = _KINDS.get(report)
        if kind is None:
            continue
        for node in nodes:
            before = None if isinstance(node.t1, NotPresent) else node.t1
            after = None if isinstance(node.t2, NotPresent) else node.t2
            rows.append((node.path(output_format="list"), kind, before, after))
    return rows


_SCALARS = (str, int, float, bool, type(None))
_DEEPER = 0.33  # deepdiff's threshold_to_diff_deeper (its default, which ``changes`` keeps)


class _NotPlain(Exception):
    """A part deepdiff has its own rules for (a list that changed, a NaN, a key that is not a
    string, a mapping replaced by a value, another type): the whole diff is deepdiff's."""


def _plain_changes(old: Any, new: Any) -> list[_Row] | None:
    """What deepdiff reports, for the usual shape of params, seeds and environments: string-
    keyed mappings of strings, numbers, booleans and nulls (and lists that did not change).
    A value of another type counts as changed, as deepdiff's ``type_changes``; anything else
    is left to deepdiff (None), which costs a third of a second to import with its numpy
    and pydantic (``review`` paid it for two small parameter maps)."""
    if not isinstance(old, dict) or not isinstance(new, dict):
        return None
    rows: list[_Row] = []
    try:
        _walk(old, new, [], rows)
    except _NotPlain:
        return None
    return rows


def _walk(old: dict[Any, Any], new: dict[Any, Any], path: list[Any], rows: list[_Row]) -> None:
    keys = old.keys() | new.keys()
    if len(keys) > 1 and len(old.keys() & new.keys()) / len(keys) < _DEEPER:
        rows.append((path, "changed", old, new))  # few keys in common: replaced as a whole
        return
    for key in keys:
        if type(key) is not str:
            raise _NotPlain
        if key not in new:
            rows.append(([*path, key], "removed", old[key], None))
        elif key not in old:
            rows.append(([*path, key], "added", None, new[key]))
        else:
            _leaf(old[key], new[key], [*path, key], rows)


def _leaf(a: Any, b: Any, path: list[Any], rows: list[_Row]) -> None:
    if type(a) is dict and type(b) is dict:
        _walk(a, b, path, rows)
    elif type(a) in _SCALARS and type(b) in _SCALARS:
        if a != a or b != b:  # NaN: deepdiff tells one NaN from another by identity
            raise _NotPlain
        if type(a) is not type(b) or a != b:
            rows.append((path, "changed", a, b))
    elif not (type(a) is list and type(b) is list and _same(a, b)):
        raise _NotPlain


def _same(a: Any, b: Any) -> bool:
    """Equal with the same types all the way down (1, 1.0 and True differ, as for deepdiff)."""
    if type(a) is not type(b):
        return False
    if type(a) is dict:
        return all(type(k) is str for k in a) and a.keys() == b.keys() \
            and all(_same(a[k], b[k]) for k in a)
    if type(a) is list:
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if type(a) in _SCALARS:
        return bool(a == b)  # a NaN is never the same: deepdiff decides
    return False


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
