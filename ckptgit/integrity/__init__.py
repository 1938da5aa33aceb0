"""Integrity: seals and ``verify``, ``fsck``, ``audit``, ``reproduce``, OMS manifests, migration."""
