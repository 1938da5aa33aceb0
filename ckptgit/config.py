"""The repository's ``.ckpt/config.yaml``, with defaults for anything it leaves out.

Stages are an ordered list; each may carry rules (docs/governance.md):

    stages:
      - dev
      - staging: {approvals: 1, gates: [{metric: "metrics.accuracy >= 0.8"}]}
      - production: {approvals: 2, signers: [alice@example.com], requires_previous: true,
                     protected: true, gates: [{command: "pytest tests/model_gates -q"}]}
"""

from __future__ import annotations

import hashlib
import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ckptgit import limits, sidecar
from ckptgit.atomic import write_atomic
from ckptgit.errors import UsageError

CONFIG_PATH = ".ckpt/config.yaml"
DEFAULT_ENV_VARS = ("CUDA_VISIBLE_DEVICES", "PYTHONHASHSEED", "CUBLAS_WORKSPACE_CONFIG")
DEFAULT_STAGES = ("dev", "staging", "production")
_RULE_KEYS = {"approvals", "signers", "gates", "requires_previous", "protected", "approvers",
              "responders", "ratify_within", "proposer_counts", "signed_saves", "self_approval"}


@dataclass(frozen=True)
class Gate:
    """A check a checkpoint must pass to enter a stage: a command, or a CEL metric threshold."""

    kind: str  # "command" | "metric"
    value: str
    timeout: float = 600.0

    def describe(self) -> str:
        return f"{self.kind}: {self.value}"


@dataclass(frozen=True)
class StageRule:
    name: str
    approvals: int = 0
    signers: tuple[str, ...] = ()  # principals from allowed_signers; empty: any of them
    gates: tuple[Gate, ...] = ()
    requires_previous: bool = False
    protected: bool = False  # reverts run in a sandbox unless --no-sandbox
    # signed approvals (governance/approvals.py): who may approve (empty: anyone in
    # allowed_signers), who may revert in an emergency, how long until it must be ratified
    approvers: tuple[str, ...] = ()
    responders: tuple[str, ...] = ()
    ratify_within: int = 86400  # seconds
    proposer_counts: bool = False
    signed_saves: bool = False  # only SSH-signed save commits may enter the stage
    self_approval: bool = False  # the signer's own Approved-By counts toward approvals


@dataclass(frozen=True)
class Governance:
    manifest_dir: str = "deploy"
    max_weight_bytes: int = 1 << 20
    tag_date_window: int = 600  # seconds a pushed tag's tagger date may differ from server time
    protected_branches: tuple[str, ...] = ("main", "master")
    # the branch promotion requests are merged into (its copy of the rules is the trust root)
    request_branch: str = "main"


@dataclass(frozen=True)
class Config:
    env_vars: tuple[str, ...] = DEFAULT_ENV_VARS
    record_packages: bool = True
    key_metrics: tuple[str, ...] = ()
    metric_goals: dict[str, str] = field(default_factory=dict)
    max_header_bytes: int = 100_000_000
    push: str = "auto"
    allow_local_remote: bool = False  # push commits to a shared git remote, bytes to a local dir
    stages: tuple[str, ...] = DEFAULT_STAGES
    stage_rules: dict[str, StageRule] = field(default_factory=dict)
    governance: Governance = field(default_factory=Governance)
    limits: limits.Limits = limits.DEFAULT
    raw: dict[str, Any] = field(default_factory=dict)

    def rule(self, stage: str) -> StageRule:
        """The rules of ``stage``, or a clear refusal naming the configured stages."""
        if stage not in self.stages:
            raise UsageError(f"stage {stage!r} is not in {CONFIG_PATH} (stages: "
                             f"{', '.join(self.stages)})")
        return self.stage_rules.get(stage) or StageRule(stage)

    def previous_stage(self, stage: str) -> str | None:
        pos = self.stages.index(stage)
        return self.stages[pos - 1] if pos > 0 else None


def load(root: Path, memo: Path | None = None) -> Config:
    """The work tree's config; ``memo`` (a directory under ``.git/ckpt``) keeps its parse."""
    path = root / CONFIG_PATH
    if not path.exists():
        return Config()
    return parse(path.read_bytes(), CONFIG_PATH, memo)


# The config is the team's own file, read before its limits are known: its own fixed bound, so
# lowering limits.sidecar_bytes can never make the file that sets it unreadable.
CONFIG_MAX_BYTES = 1 << 20


def parse(text: bytes | str, what: str = CONFIG_PATH, memo: Path | None = None) -> Config:
    """A config from YAML text: the work tree's, or a server's trusted copy."""
    data = _memo_read(memo, text) if memo is not None else None
    if data is None:
        data = sidecar.parse_yaml(text, what, CONFIG_MAX_BYTES) or {}
        if memo is not None:
            _memo_write(memo, text, data)
    if not isinstance(data, dict):
        raise UsageError(f"{what} must be a mapping")
    env = data.get("environment") or {}
    metrics = data.get("metrics") or {}
    tensors = data.get("tensors") or {}
    push = str(data.get("push", "auto"))
    if push not in ("auto", "check", "never"):
        raise UsageError(f"{what}: push must be auto, check or never, not {push!r}")
    rules = _stage_rules(data.get("stages") or list(DEFAULT_STAGES), what)
    return Config(
        env_vars=tuple(str(v) for v in env.get("env_vars", DEFAULT_ENV_VARS)),
        record_packages=bool(env.get("packages", True)),
        key_metrics=tuple(str(m) for m in metrics.get("key") or ()),
        metric_goals={str(k): str(v) for k, v in (metrics.get("goals") or {}).items()},
        max_header_bytes=int(tensors.get("max_header_bytes", 100_000_000)),
        push=push,
        allow_local_remote=bool(data.get("allow_local_remote", False)),
        stages=tuple(r.name for r in rules),
        stage_rules={r.name: r for r in rules},
        governance=_governance(data.get("governance") or {}, what),
        limits=limits.parse(data.get(limits.CONFIG_KEY), what),
        raw=data,
    )


# Every command opens the repository and so reads its config; importing PyYAML and parsing
# cost more than the rest of a warm `history`. The parse is kept per file content under
# .git/ckpt: the same bytes always give the same data, and anything that does not survive
# JSON unchanged (a YAML date, a non-string key) is simply not kept.
_MEMO = "config-parsed-v1.json"


def _memo_key(text: bytes | str) -> str:
    raw = text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text
    return hashlib.sha256(raw).hexdigest()


def _memo_read(memo: Path, text: bytes | str) -> Any:
    if len(text) > CONFIG_MAX_BYTES:
        return None
    try:
        kept = json.loads((memo / _MEMO).read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(kept, dict) or kept.get("sha256") != _memo_key(text):
        return None
    return kept.get("data")


def _memo_write(memo: Path, text: bytes | str, data: Any) -> None:
    try:
        encoded = json.dumps({"sha256": _memo_key(text), "data": data}, allow_nan=False)
        if json.loads(encoded)["data"] != data:
            return
        memo.mkdir(parents=True, exist_ok=True)
        write_atomic(memo / _MEMO, encoded)
    except (OSError, ValueError, TypeError, RecursionError):
        pass  # only a memo: the next command parses again


def _stage_rules(stages: Any, what: str) -> list[StageRule]:
    if not isinstance(stages, list):
        raise UsageError(f"{what}: stages must be a list, in promotion order")
    from ckptgit import tags

    rules: list[StageRule] = []
    for item in stages:
        name, body = (item, {}) if isinstance(item, str) else _single(item, what)
        if not tags.is_stage_name(name):
            raise UsageError(f"{what}: invalid stage name {name!r} (lowercase letters, digits, "
                             "'_' or '-')")
        if any(r.name == name for r in rules):
            raise UsageError(f"{what}: stage {name!r} is listed twice")
        rules.append(_rule(name, body, what))
    return rules


def _single(item: Any, what: str) -> tuple[str, dict[str, Any]]:
    if not isinstance(item, dict) or len(item) != 1:
        raise UsageError(f"{what}: each stage is a name or {{name: {{rules}}}}, not {item!r}")
    name, body = next(iter(item.items()))
    if not isinstance(body, dict | None):
        raise UsageError(f"{what}: rules of stage {name!r} must be a mapping")
    return str(name), body or {}


def _rule(name: str, body: dict[str, Any], what: str) -> StageRule:
    unknown = set(body) - _RULE_KEYS
    if unknown:
        raise UsageError(f"{what}: stage {name!r} has unknown rule(s) {sorted(unknown)} "
                         f"(known: {', '.join(sorted(_RULE_KEYS))})")
    approvals = body.get("approvals", 0)
    if not isinstance(approvals, int) or approvals < 0:
        raise UsageError(f"{what}: stages.{name}.approvals must be a whole number >= 0")
    signers = body.get("signers") or []
    if not isinstance(signers, list) or not all(isinstance(s, str) for s in signers):
        raise UsageError(f"{what}: stages.{name}.signers must be a list of principals")
    gates = tuple(_gate(g, f"{what}: stages.{name}.gates") for g in body.get("gates") or [])
    people = {key: _principals(body.get(key), f"{what}: stages.{name}.{key}")
              for key in ("approvers", "responders")}
    return StageRule(name, approvals, tuple(signers), gates,
                     bool(body.get("requires_previous", False)),
                     bool(body.get("protected", False)), people["approvers"],
                     people["responders"],
                     _duration(body.get("ratify_within", 86400),
                               f"{what}: stages.{name}.ratify_within"),
                     bool(body.get("proposer_counts", False)),
                     bool(body.get("signed_saves", False)), bool(body.get("self_approval", False)))


def _principals(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(s, str) and s for s in value):
        raise UsageError(f"{where} must be a list of principals")
    return tuple(value)


def _duration(value: Any, where: str) -> int:
    """Seconds from 3600, "90m", "24h" or "7d"."""
    text = str(value).strip().lower()
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    number, unit = (text[:-1], units[text[-1]]) if text[-1:] in units else (text, 1)
    if not number.isdigit() or int(number) <= 0:
        raise UsageError(f"{where} must be a duration like 3600, 90m, 24h or 7d, not {value!r}")
    return int(number) * unit


def _gate(item: Any, where: str) -> Gate:
    if isinstance(item, dict) and len(set(item) & {"command", "metric"}) == 1:
        kind = "command" if "command" in item else "metric"
        value = str(item[kind]).strip()
        timeout = float(item.get("timeout", 600))
        if kind == "command":
            try:
                if not shlex.split(value):
                    raise ValueError("empty command")
            except ValueError as exc:
                raise UsageError(f"{where}: command {value!r} does not parse: {exc}") from exc
        # metric expressions are compiled when a gate runs: celpy is too slow to import on
        # every command that reads the config
        return Gate(kind, value, timeout)
    raise UsageError(f"{where}: each gate is {{command: ...}} or {{metric: ...}}, not {item!r}")


def _governance(data: Any, what: str) -> Governance:
    if not isinstance(data, dict):
        raise UsageError(f"{what}: governance must be a mapping")
    default = Governance()
    try:
        return Governance(
            manifest_dir=str(data.get("manifest_dir", default.manifest_dir)).strip("/"),
            max_weight_bytes=int(data.get("max_weight_bytes", default.max_weight_bytes)),
            tag_date_window=int(data.get("tag_date_window", default.tag_date_window)),
            protected_branches=tuple(str(b) for b in data.get("protected_branches",
                                                              default.protected_branches)),
            request_branch=str(data.get("request_branch", default.request_branch)),
        )
    except (TypeError, ValueError) as exc:
        raise UsageError(f"{what}: governance: {exc}") from exc
