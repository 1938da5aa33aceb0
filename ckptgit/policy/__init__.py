"""Policy as code: guardrails evaluated at every step, pause and resume of runs, the outcome
log, and retention (docs/policy.md, docs/retention.md)."""
