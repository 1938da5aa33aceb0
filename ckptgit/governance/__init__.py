"""Governance: signed promotion, revert and lock tags, their rules, gates, and the hooks."""
