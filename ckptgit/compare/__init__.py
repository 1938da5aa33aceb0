"""Comparing checkpoints: what changed between two, and whether it matters.

A package rather than ``ckptgit/diff/`` because ``ckptgit.diff`` is the public function
(``ckptgit.diff(a, b)``); a subpackage of that name would shadow it once imported.

Every module here is pure: sidecar dictionaries (and, for weights, file paths) in, value objects
from ``result`` out. ``ckptgit.ops.diff`` reads the repository and puts the sections together.
"""
