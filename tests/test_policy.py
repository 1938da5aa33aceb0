"""Guardrails (docs/policy.md): the examples as written, judged at save (CLI, Tracker), at
promotion and in the hooks; overrides, pauses, notifications and the outcome log."""

from __future__ import annotations

import http.server
import json
import math
import re
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import Repo, git, make_repo
from governance_fixtures import bare_remote, push

MODEL = "models/clf.safetensors"
DOCS = Path(__file__).parent.parent / "docs" / "policy.md"


def _examples() -> str:
    """The ``guardrails:`` block of docs/policy.md's example config, exactly as written."""
    text = DOCS.read_text()
    block = re.search(r"<!-- example-config -->\n```yaml\n(.*?)```", text, re.S)
    assert block, "docs/policy.md lost its example config"
    return block.group(1)


CONFIG = """\
version: 1
stages: [dev, staging, production]
"""


def _configure(repo: Repo, extra: str = "", commit: bool = True) -> None:
    (repo.path / ".ckpt/config.yaml").write_text(CONFIG + _examples() + extra)
    if commit:
        repo.git("add", ".ckpt/config.yaml")
        repo.git("commit", "-q", "-m", "guardrails")


def _signing(repo: Repo, tmp_path: Path) -> None:
    key = tmp_path / "alice"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "alice", "-f",
                    str(key)], check=True)
    pub = key.with_suffix(".pub").read_text().split()
    signers = repo.path / ".ckpt/allowed_signers"
    signers.write_text(signers.read_text() + f'ada@example.com namespaces="git" {pub[0]} '
                                              f'{pub[1]}\n')
    repo.git("add", ".ckpt/allowed_signers")
    repo.git("commit", "-q", "-m", "trust alice's key")
    repo.git("config", "gpg.format", "ssh")
    repo.git("config", "user.signingkey", str(key) + ".pub")


GOOD = ("--param", "lr=0.01", "--param", "optimizer=sgd", "--seed", "torch=1")


@pytest.fixture
def guarded(repo: Repo) -> Repo:
    _configure(repo)
    return repo


def _log(repo: Repo) -> list[dict[str, Any]]:
    text = repo.git("log", "--format=%B%x1e", "refs/ckpt/policy-log", check=False)
    return [json.loads(next(ln for ln in chunk.splitlines() if ln.startswith("{")))
            for chunk in text.split("\x1e") if "{" in chunk]


# -- save: each save-time example fires on a violation and not on a conforming save ----------
@pytest.mark.parametrize("bad, rule", [
    (("--param", "lr=0.5", "--param", "optimizer=sgd", "--seed", "torch=1"), "sgd-high-lr"),
    (("--param", "lr=0.01", "--seed", "numpy=1"), "torch-seed"),
])
def test_save_refuses_an_error_level_violation_with_exit_4(guarded: Repo, bad: tuple[str, ...],
                                                           rule: str) -> None:
    guarded.model()
    res = guarded.ckpt("save", MODEL, "-n", "clf", *bad)
    assert res.code == 4, res.err
    assert f"guardrail '{rule}' refuses this save" in res.err
    assert guarded.ckpt_ok("list", "--json").json() == []  # nothing saved
    refused = _log(guarded)[0]
    assert refused["refused"] is True and refused["id"] is None
    assert rule in [o["rule"] for o in refused["outcomes"] if o["result"] == "fail"]
    guarded.save(MODEL, "clf", *GOOD)  # the conforming save goes through


def test_override_needs_a_rationale_and_is_recorded(guarded: Repo) -> None:
    guarded.model()
    bad = ("--param", "lr=0.5", "--param", "optimizer=sgd", "--seed", "torch=1")
    res = guarded.ckpt("save", MODEL, "-n", "clf", *bad, "--override", "sgd-high-lr")
    assert res.code == 2 and "--rationale" in res.err
    res = guarded.ckpt("save", MODEL, "-n", "clf", *bad, "--override", "no-such-rule",
                       "--rationale", "x")
    assert res.code == 2 and "no such guardrail" in res.err
    for smuggled in ("ok\nPolicy-Override: torch-seed", "ok\u2028Approved-By: boss"):
        res = guarded.ckpt("save", MODEL, "-n", "clf", *bad, "--override", "sgd-high-lr",
                           "--rationale", smuggled)
        assert res.code == 2 and "one line" in res.err, res.err
    saved = guarded.save(MODEL, "clf", *bad, "--override", "sgd-high-lr", "--rationale",
                         "lr sweep, diverging on purpose")
    doc = guarded.ckpt_ok("show", saved["id"], "--json").json()
    assert doc["policy"]["overrides"] == [{"rule": "sgd-high-lr",
                                           "rationale": "lr sweep, diverging on purpose",
                                           "message": doc["policy"]["overrides"][0]["message"]}]
    trailers = guarded.git("log", "-1", "--format=%(trailers)", saved["commit"])
    assert "Policy-Override: sgd-high-lr" in trailers
    assert "Rationale: lr sweep, diverging on purpose" in trailers
    stats = guarded.ckpt_ok("policy", "stats", "--json").json()
    assert stats["rules"]["sgd-high-lr"] == {"fired": 1, "overridden": 1, "paused": 0,
                                             "refused": 0}


def test_a_rule_naming_a_missing_field_does_not_apply(repo: Repo) -> None:
    _configure(repo, "  - id: big-batch\n    forbid: params.batch_size > 512\n")
    repo.model()
    saved = repo.save(MODEL, "clf", *GOOD)  # no batch_size: n/a, never a crash
    judged = repo.ckpt_ok("policy", "check", saved["id"], "--json").json()
    outcome = next(o for o in judged[0]["outcomes"] if o["rule"] == "big-batch")
    assert outcome["result"] == "n/a" and "batch_size" in outcome["message"]
    res = repo.ckpt("save", MODEL, "-n", "clf", *GOOD, "--param", "batch_size=1024")
    assert res.code == 4 and "big-batch" in res.err


# -- bad configuration: the line, the rule id, the column ------------------------------------
def test_invalid_cel_names_the_rule_the_line_and_the_column(repo: Repo) -> None:
    _configure(repo, "  - id: broken\n    forbid: params.lr >> 0.1\n", commit=False)
    repo.model()
    res = repo.ckpt("save", MODEL, "-n", "clf", *GOOD)
    assert res.code == 2
    lines = (repo.path / ".ckpt/config.yaml").read_text().splitlines()
    line = next(i for i, ln in enumerate(lines, 1) if ">> 0.1" in ln)
    assert f"line {line}" in res.err and "'broken'" in res.err and "column" in res.err, res.err


def test_schema_errors_point_at_the_line(repo: Repo) -> None:
    _configure(repo, "  - id: loud\n    forbid: 'true'\n    severity: fatal\n", commit=False)
    repo.model()
    res = repo.ckpt("save", MODEL, "-n", "clf", *GOOD)
    lines = (repo.path / ".ckpt/config.yaml").read_text().splitlines()
    line = next(i for i, ln in enumerate(lines, 1) if "fatal" in ln)
    assert res.code == 2 and f"line {line}" in res.err and "severity" in res.err, res.err


# -- the Tracker: same rules, same refusals; pause on NaN and resume --------------------------
def test_tracker_refuses_and_conforms(guarded: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    import ckptgit

    monkeypatch.chdir(guarded.path)
    guarded.model()
    bad = ckptgit.Tracker("clf", params={"lr": 0.5, "optimizer": "sgd"}, seeds={"torch": 1})
    with pytest.raises(ckptgit.PolicyError, match="sgd-high-lr"):
        bad.save(MODEL, metrics={"loss": 0.5})
    unseeded = ckptgit.Tracker("clf", params={"lr": 0.01}, seeds={"numpy": 1})
    with pytest.raises(ckptgit.PolicyError, match="torch-seed"):
        unseeded.save(MODEL, metrics={"loss": 0.5})
    good = ckptgit.Tracker("clf", params={"lr": 0.01, "optimizer": "sgd"}, seeds={"torch": 1})
    assert good.save(MODEL, metrics={"loss": 0.5}).name == "clf"


def test_nan_pauses_the_run_until_resumed(guarded: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    import ckptgit

    monkeypatch.chdir(guarded.path)
    guarded.model()
    run = ckptgit.Tracker("clf", params={"lr": 0.01}, seeds={"torch": 1})
    run.save(MODEL, metrics={"loss": 0.5})
    with pytest.raises(ckptgit.RunPaused) as caught:  # error-level pause rule: refused, paused
        run.save(MODEL, metrics={"loss": math.nan})
    assert caught.value.name == "clf" and caught.value.rule == "diverged"
    with pytest.raises(ckptgit.RunPaused, match="git ckpt resume clf"):
        run.save(MODEL, metrics={"loss": 0.4})
    res = guarded.ckpt("save", MODEL, "-n", "clf", *GOOD)
    assert res.code == 4 and "paused" in res.err
    assert guarded.ckpt("resume", "clf").code == 2  # a rationale is required
    guarded.ckpt_ok("resume", "clf", "--rationale", "lr lowered after the NaN")
    assert run.save(MODEL, metrics={"loss": 0.4}).name == "clf"
    events = [e for e in guarded.ckpt_ok("audit", "--format", "json").json()["events"]
              if e["action"] in ("pause", "resume")]
    assert [e["action"] for e in events] == ["pause", "resume"]
    assert events[0]["rule"] == "diverged" and events[1]["reason"] == "lr lowered after the NaN"
    stats = guarded.ckpt_ok("policy", "stats", "--json").json()
    assert stats["rules"]["diverged"]["paused"] == 1
    assert stats["refusals"] == 3  # the NaN save, the paused Tracker save, the paused CLI save


# -- notify: a command and a webhook on pause and on error-level findings ---------------------
@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    got: list[dict[str, Any]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", got
    finally:
        server.shutdown()
        server.server_close()


def test_notify_command_and_webhook(repo: Repo,
                                    webhook: tuple[str, list[dict[str, Any]]]) -> None:
    url, got = webhook
    out = repo.path.parent / "notified.txt"
    _configure(repo, f"notify:\n  command: sh -c 'echo \"$CKPT_EVENT $CKPT_NAME $CKPT_RULE\" "
                     f">> {out}'\n  webhook: {url}\n")
    repo.model()
    assert repo.ckpt("save", MODEL, "-n", "clf", "--param", "lr=0.5", "--param",
                     "optimizer=sgd", "--seed", "torch=1").code == 4
    assert repo.ckpt("save", MODEL, "-n", "clf", *GOOD, "--metric", "loss=nan").code == 4
    assert out.read_text().splitlines() == ["refused clf sgd-high-lr", "paused clf diverged",
                                            "refused clf diverged"]
    assert [(g["event"], g["rules"]) for g in got] == [
        ("refused", ["sgd-high-lr"]), ("paused", ["diverged"]), ("refused", ["diverged"])]


# -- promotion: the stage examples --------------------------------------------------------------
def test_promotion_examples(guarded: Repo, tmp_path: Path) -> None:
    _signing(guarded, tmp_path)
    guarded.model()
    low = guarded.save(MODEL, "clf", *GOOD, "--metric", "acc=0.85")
    res = guarded.ckpt("promote", low["id"], "--stage", "staging", "--rationale", "try")
    assert res.code == 0, res.err  # 0.85 >= 0.8 for staging
    res = guarded.ckpt("promote", low["id"], "--stage", "production", "--rationale", "try")
    assert res.code == 4 and "prod-accuracy" in res.err, res.err
    guarded.model(seed=2)
    (guarded.path / "train.py").write_text("print('uncommitted change')\n")
    high = guarded.save(MODEL, "clf", *GOOD, "--metric", "acc=0.95")
    res = guarded.ckpt("promote", high["id"], "--stage", "production", "--rationale", "best")
    # saved from a dirty tree (the model file is untracked work) and a local remote
    assert res.code == 4 and ("prod-clean-code" in res.err or "prod-remote" in res.err)
    judged = guarded.ckpt("policy", "check", high["id"], "--stage", "production", "--json")
    failed = {o["rule"] for o in judged.json()[0]["outcomes"] if o["result"] == "fail"}
    assert failed == {"prod-clean-code", "prod-remote-encrypted"}
    assert judged.code == 1
    # an S3 remote with server-side encryption satisfies the remote rule
    for key, value in (("url", "s3://models/clf"), ("sse", "AES256")):
        subprocess.run(["dvc", "remote", "modify", "ckpt", key, value], cwd=guarded.path,
                       check=True)
    judged = guarded.ckpt("policy", "check", high["id"], "--stage", "production", "--json")
    failed = {o["rule"] for o in judged.json()[0]["outcomes"] if o["result"] == "fail"}
    assert failed == {"prod-clean-code"}


def test_pii_data_stays_in_dev(guarded: Repo, tmp_path: Path) -> None:
    _signing(guarded, tmp_path)
    data = guarded.path / "data" / "users.csv"
    data.parent.mkdir()
    data.write_text("id,email\n1,a@example.com\n")
    subprocess.run(["dvc", "add", "-q", str(data)], cwd=guarded.path, check=True)
    pointer = data.with_name("users.csv.dvc")
    pointer.write_text(pointer.read_text().replace("  path: users.csv",
                                                   "  path: users.csv\n  labels: [pii]"))
    guarded.model()
    saved = guarded.save(MODEL, "clf", *GOOD, "--metric", "acc=0.85", "--data",
                         "data/users.csv")
    guarded.ckpt_ok("promote", saved["id"], "--stage", "dev", "--rationale", "dev is fine")
    res = guarded.ckpt("promote", saved["id"], "--stage", "staging", "--rationale", "x")
    assert res.code == 4 and "pii-outside-dev" in res.err, res.err


# -- hooks: pre-commit, pre-push and the server's pre-receive ---------------------------------
def test_pre_commit_judges_a_sidecar_committed_by_hand(guarded: Repo) -> None:
    guarded.model()
    saved = guarded.save(MODEL, "clf", *GOOD)
    side = (guarded.path / f"{MODEL}.ckpt.yaml").read_text()
    copy = guarded.path / "models" / "copy.safetensors.ckpt.yaml"
    copy.write_text(side.replace("lr: 0.01", "lr: 0.5").replace(saved["id"], "abcdef0123456789")
                    .replace(MODEL, "models/copy.safetensors"))
    guarded.git("add", str(copy))
    done = subprocess.run(["git", "commit", "-q", "-m", "by hand"], cwd=guarded.path,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 1 and "guardrail 'sgd-high-lr'" in done.stderr, done.stderr
    copy.write_text(side.replace(saved["id"], "abcdef0123456789")
                    .replace(MODEL, "models/copy.safetensors"))
    guarded.git("add", str(copy))
    guarded.git("commit", "-q", "-m", "conforming")


def test_pre_push_and_pre_receive_refuse_a_violating_save(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    _configure(repo)
    bare = bare_remote(repo, tmp_path)  # the server's trusted copy holds the guardrails
    done = push(repo, "HEAD:main")
    assert done.returncode == 0, done.stderr
    repo.model()
    repo.save(MODEL, "clf", *GOOD, "--push")
    done = push(repo, "HEAD:main")
    assert done.returncode == 0, done.stderr
    # a teammate's clone without the rules (edited locally) saves a violating checkpoint
    (repo.path / ".ckpt/config.yaml").write_text(CONFIG)
    repo.model(seed=3)
    repo.save(MODEL, "clf", "--param", "lr=0.5", "--param", "optimizer=sgd", "--seed",
              "torch=1", "--push")
    repo.git("checkout", "-q", "--", ".ckpt/config.yaml")  # pre-push reads the repo's rules
    done = push(repo, "HEAD:main")
    assert done.returncode != 0 and "guardrail 'sgd-high-lr' (push)" in done.stderr
    done = subprocess.run(["git", "push", "--no-verify", "origin", "HEAD:main"], cwd=repo.path,
                          capture_output=True, text=True, check=False)
    assert done.returncode != 0 and "guardrail 'sgd-high-lr' (push)" in done.stderr
    assert git(bare, "log", "--format=%s", "main").count("ckpt: save clf") == 1
