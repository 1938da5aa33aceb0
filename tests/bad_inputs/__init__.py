"""The bad-input catalogue (docs/reliability.md)."""
