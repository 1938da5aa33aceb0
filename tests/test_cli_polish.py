"""The rough edges a new user hits: completion, "did you mean", JSON errors, concise show."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import Repo

GIT_COMPLETION = Path("/usr/share/bash-completion/completions/git")


def _bash(script: str, cwd: Path) -> str:
    done = subprocess.run(["bash", "-c", script], cwd=cwd, capture_output=True, text=True,
                          check=False, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_bash_completion_registers_and_completes_through_git(repo: Repo) -> None:
    script = repo.run_git_ckpt("completion", "bash").stdout
    (repo.path.parent / "ckpt.bash").write_text(script)
    out = _bash("""
        source ../ckpt.bash
        complete -p git-ckpt
        words=(git ckpt sh); cword=2; _git_ckpt; echo "git: ${COMPREPLY[*]}"
        words=(git -C . ckpt pro); cword=4; _git_ckpt; echo "git-C: ${COMPREPLY[*]}"
        COMP_WORDS=(git-ckpt promote clf --sta); COMP_CWORD=3; _git_ckpt_complete
        echo "opts: ${COMPREPLY[*]}"
        COMP_WORDS=(git-ckpt completion ''); COMP_CWORD=2; _git_ckpt_complete
        echo "shells: ${COMPREPLY[*]}"
    """, repo.path)
    assert "complete -o nosort -F _git_ckpt_complete git-ckpt" in out
    assert "git: show\n" in out and "git-C: promote\n" in out
    assert "opts: --stage\n" in out and "shells: bash fish zsh\n" in out


@pytest.mark.skipif(not GIT_COMPLETION.exists(), reason="git's bash completion not installed")
def test_git_own_completion_calls_ours(repo: Repo) -> None:
    (repo.path.parent / "ckpt.bash").write_text(repo.run_git_ckpt("completion", "bash").stdout)
    out = _bash(f"""
        source {GIT_COMPLETION}
        source ../ckpt.bash
        COMP_WORDS=(git ckpt sh); COMP_CWORD=2; COMP_LINE="git ckpt sh"; COMP_POINT=11
        __git_wrap__git_main; echo "got: ${{COMPREPLY[*]}}"
    """, repo.path)
    assert out.strip() == "got: show"


# each shell's own syntax check, then a completion of "sh" (git-ckpt) and "pro" (git ckpt)
SHELL_CHECKS = {
    "zsh": ("zsh", "-c", """autoload -U compinit; compinit -u; source {script}
        compadd() {{ print -l -- ${{(P)${{@[-1]}}}} }}
        _git_ckpt_zsh "git-ckpt sh" 1
        words=(ckpt pro); CURRENT=2; _git-ckpt"""),
    "fish": ("fish", "-c", """source {script}
        __git_ckpt_candidates "git-ckpt sh" sh
        __git_ckpt_candidates "git-ckpt pro" pro"""),
}


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_other_shells_get_scripts_that_complete(repo: Repo, shell: str) -> None:
    res = repo.ckpt_ok("completion", shell, "--json").json()
    assert res["shell"] == shell and "_GIT_CKPT_COMPLETE" in res["script"]
    program = shutil.which(shell)
    if program is None:
        pytest.skip(f"{shell} is not installed here ('make system' installs it)")
    path = repo.path.parent / f"ckpt.{shell}"
    path.write_text(res["script"])
    check = [program, "-n", str(path)] if shell == "zsh" else [program, "--no-execute",
                                                               str(path)]
    done = subprocess.run(check, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    name, flag, body = SHELL_CHECKS[shell]
    done = subprocess.run([program, flag, body.format(script=path)], cwd=repo.path,
                          capture_output=True, text=True, check=False, timeout=60)
    lines = [ln.split("\t")[0] for ln in done.stdout.splitlines()]
    assert lines == ["show", "promote"], (done.stdout, done.stderr)


def test_completion_protocol_answers_for_git_ckpt(repo: Repo) -> None:
    done = subprocess.run(["git-ckpt"], cwd=repo.path, capture_output=True, text=True,
                          check=False, env={**_env(), "_GIT_CKPT_COMPLETE": "bash_complete",
                                            "COMP_WORDS": "git-ckpt li", "COMP_CWORD": "1"})
    assert done.returncode == 0 and done.stdout.strip() == "plain,list", done


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)


def test_mistyped_verb_suggests_the_right_one(repo: Repo) -> None:
    res = repo.ckpt("lst")
    assert res.code == 2 and "No such command 'lst'. Did you mean 'list'?" in res.err
    far = repo.ckpt("zzzzzz")
    assert far.code == 2 and "Did you mean" not in far.err


def test_json_errors_have_one_shape_for_every_exit_code(repo: Repo, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    repo.model()
    repo.save()
    cases = {
        1: ["-C", str(tmp_path / "nowhere"), "list", "--json"],
        2: ["show", "nosuch", "--json"],
        3: ["restore", "clf", "--json"],
        4: ["promote", "clf", "--stage", "production", "--rationale", "x", "--json"],
    }
    (repo.path / "models" / "clf.safetensors").unlink()
    shutil.rmtree(repo.path / ".dvc" / "cache")
    shutil.rmtree(repo.remote, ignore_errors=True)
    for code, args in cases.items():
        res = repo.ckpt(*args)
        assert res.code == code, (args, res)
        body = json.loads(res.out)
        assert set(body) == {"error", "exit"} and body["exit"] == code, body
        assert body["error"] and "\n" not in body["error"] and res.err == "", res
    usage = repo.ckpt("list", "--bogus", "--json")
    assert usage.code == 2 and json.loads(usage.out)["exit"] == 2
    assert "No such option" in json.loads(usage.out)["error"]
    plain = repo.ckpt("show", "nosuch")
    assert plain.out == "" and plain.err.startswith("error: ")

    import ckptgit.ops.show

    def interrupted(*_a: object, **_k: object) -> None:
        raise KeyboardInterrupt  # the fault, injected at the seam

    monkeypatch.setattr(ckptgit.ops.show, "full", interrupted)
    res = repo.ckpt("show", "clf", "--json")
    assert res.code == 130 and json.loads(res.out) == {"error": "aborted", "exit": 130}


def test_every_command_takes_json() -> None:
    import click

    from ckptgit.main import COMMANDS, HIDDEN, cli

    ctx = click.Context(cli)
    missing = []
    for name in COMMANDS:
        cmd = cli.get_command(ctx, name)
        assert cmd is not None
        subs = list(cmd.commands.values()) if isinstance(cmd, click.Group) else [cmd]
        for sub in subs:
            if not any("--json" in p.opts for p in sub.params) and name not in HIDDEN:
                missing.append(f"{name} {sub.name}")
    assert missing == []


def test_show_is_concise_by_default(repo: Repo) -> None:
    repo.model()
    saved = repo.save("models/clf.safetensors", "clf", "--metric", "acc=0.9")
    short = repo.ckpt_ok("show", "clf").out
    full = repo.ckpt_ok("show", "clf", "--all").out
    assert saved["id"] in short and "acc" in short and "packages" in short
    assert len(short.splitlines()) < 30 < len(full.splitlines())
    assert short.index("metrics:") < 600
    assert repo.ckpt_ok("show", "clf", "--json").json()["id"] == saved["id"]


class _Terminal:
    """stderr as a terminal would be (the seam rich looks at), keeping what is drawn."""

    def __init__(self) -> None:
        self.text: list[str] = []

    def isatty(self) -> bool:
        return True

    def write(self, data: str) -> int:
        self.text.append(data)
        return len(data)

    def flush(self) -> None:
        pass

    def fileno(self) -> int:
        raise OSError("not a real terminal")


def test_progress_is_binary_and_keeps_moving_after_the_bytes(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from ckptgit.commands._common import progress

    term = _Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    monkeypatch.setenv("COLUMNS", "160")
    total = 500 * 10**6  # the "500.0 MB" of the issue: 476.8 MiB
    with progress("saving clf", total, then="pushing to the DVC remote") as bar:
        assert bar is not None
        for _ in range(10):
            bar(total // 10)
    drawn = "".join(term.text)
    assert "476.8 MiB" in drawn and " MB" not in drawn.replace("MiB", "")
    assert "pushing to the DVC remote" in drawn
    term.text.clear()
    with progress("saving clf", total) as bar:  # no push: no second phase
        assert bar is not None
        bar(total)
    assert "pushing" not in "".join(term.text) and "476.8 MiB" in "".join(term.text)


def test_help_config_prints_the_shipped_reference(repo: Repo) -> None:
    text = (repo.path / ".ckpt" / "config.yaml").read_text()
    assert "git ckpt help config" in text and "docs/" not in text  # no path the user lacks
    out = repo.run_git_ckpt("help", "config")
    assert out.returncode == 0 and out.stdout.startswith("# `.ckpt/config.yaml`")
    topics = repo.ckpt_ok("help", "--json").json()
    assert "config" in topics and "report" in topics
    for topic in topics:
        assert repo.ckpt_ok("help", topic).out.startswith("#")
    assert repo.ckpt("help", "nosuch").code == 2


def test_every_command_is_in_the_docs() -> None:
    from ckptgit.main import COMMANDS, HIDDEN

    text = (Path(__file__).parent.parent / "docs" / "commands.md").read_text()
    missing = [c for c in COMMANDS if c not in HIDDEN and f"## `git ckpt {c}" not in text]
    assert missing == []
