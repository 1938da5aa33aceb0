"""The forgery matrix: every way a hostile teammate could slip a decision past a reader.

One repository is prepared per module (real keys, real DVC, real signed tags, a bare server
with our pre-receive holding a trusted copy of the rules) and copied for each case, as
dvc/testing does. Each case forges one thing — a tag in some grammar form, a signature, a
trailer, a save, the trust root — and then every reader must refuse or flag it: the client
pre-push (real ``git push``), the server's pre-receive (``git push --no-verify``), ``verify``,
``audit``, ``stages``, ``history`` and ``show NAME#STAGE``. Nothing is mocked.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import BIN, Repo, git, make_repo
from governance_fixtures import CONFIG, Keys, make_keys, push

BASE_TAGS = {"clf#dev#1", "clf#staging#2", "ckpt/lock/production/1"}


@dataclass
class World:
    """A copy of the prepared repository and its server, for one case."""

    repo: Repo
    server: Path
    keys: Keys
    saves: dict[str, dict]  # a (clf, held by dev and staging), b (clf), o (other)
    deploy: str  # a commit that is not a save

    def tag(self, name: str, target: str, message: str, signer: str | None = "alice",
            kind: str = "ssh") -> None:
        """A tag made by hand with plain git, signed by ``signer``'s key (or not)."""
        args = ["tag", "-a", "-F", "-", name, target]
        opts: list[str] = []
        if signer is not None and kind == "ssh":
            opts = ["-c", "gpg.format=ssh", "-c",
                    f"user.signingkey={self.keys.dir / f'{signer}.key'}"]
            args[1] = "-s"
        elif kind == "pgp":
            opts = ["-c", "gpg.format=openpgp", "-c", "user.signingkey=mallory@example.com"]
            args[1] = "-s"
        elif kind == "light":
            args = ["tag", name, target]
        done = subprocess.run(["git", *opts, *args], cwd=self.repo.path, input=message,
                              text=True, capture_output=True, check=False)
        assert done.returncode == 0, done.stderr

    def msg(self, save: str = "a", stage: str | None = "dev", action: str = "promote",
            extra: str = "", seal: str | None = None, signed_by: str | None = None,
            name: str = "clf") -> str:
        s = self.saves[save]
        lines = [f"Ckpt-Action: {action}", f"Ckpt-Id: {s['id']}", f"Ckpt-Name: {name}"]
        if stage:
            lines.append(f"Ckpt-Stage: {stage}")
        lines.append(f"Ckpt-Seal: {seal or 'sha256:' + s['artifact']['sha256']}")
        lines.append("Rationale: looks fine")
        if signed_by:
            lines.append(f"Signed-By: {signed_by}")
        return f"{action} by hand\n\n" + "\n".join(lines) + "\n" + extra


@dataclass(frozen=True)
class Case:
    id: str
    forge: Callable[[World], None]
    tag: str  # the forged tag every reader must refuse
    stage: str | None = "dev"  # the stage it claims (None: not an assignment)
    push_main: bool = False  # the forgery travels on main too (a commit)


def _env(base: Path) -> dict[str, str]:
    home = base / "home"
    home.mkdir(exist_ok=True)
    (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n")
    return {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_CACHE_HOME": str(home / ".cache"), "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": "Ada Trainer", "GIT_AUTHOR_EMAIL": "ada@example.com",
            "GIT_COMMITTER_NAME": "Ada Trainer", "GIT_COMMITTER_EMAIL": "ada@example.com",
            "GIT_EDITOR": "false", "DVC_NO_ANALYTICS": "1",
            "DVC_SITE_CACHE_DIR": str(base / "dvc-site"),
            "DVC_GLOBAL_CONFIG_DIR": str(home / ".config" / "dvc"),
            "DVC_SYSTEM_CONFIG_DIR": str(base / "dvc-system"),
            "GNUPGHOME": str(base / "gnupg"),
            "PATH": BIN + os.pathsep + os.environ.get("PATH", "")}


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict, str]]:
    base = tmp_path_factory.mktemp("forgery")
    with pytest.MonkeyPatch.context() as mp:
        for key in list(os.environ):
            if key.startswith(("GIT_", "DVC_", "CKPT_")):
                mp.delenv(key)
        for key, value in _env(base).items():
            mp.setenv(key, value)
        try:
            yield (base, *_prepare(base))
        finally:  # the OpenPGP case starts a gpg-agent for this GNUPGHOME: leave none behind
            subprocess.run(["gpgconf", "--kill", "all"], check=False, capture_output=True)


def _prepare(base: Path) -> tuple[dict, str]:
    keys = make_keys(base)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "eve", "-f",
                    str(keys.dir / "eve")], check=True)
    os.rename(keys.dir / "eve", keys.dir / "eve.key")
    (base / "gnupg").mkdir(mode=0o700)
    subprocess.run(["gpg", "--batch", "--quiet", "--pinentry-mode", "loopback", "--passphrase",
                    "", "--quick-gen-key",
                    "Mallory <mallory@example.com>", "ed25519", "sign", "never"],
                   check=True, capture_output=True)
    repo = make_repo(base)
    ckpt = repo.path / ".ckpt"
    (ckpt / "config.yaml").write_text(CONFIG)
    expired = keys.pub("eve").read_text().strip()
    (ckpt / "allowed_signers").write_text(
        keys.line("alice") + keys.line("bob") + keys.line("rob")
        + f'eve@example.com namespaces="git",valid-before="20200101" {expired}\n')
    (ckpt / "revoked_signers").write_text(keys.pub("rob").read_text())
    repo.git("add", ".ckpt")
    repo.git("commit", "-q", "-m", "governance rules and signers")
    repo.git("config", "gpg.format", "ssh")
    repo.git("config", "user.signingkey", str(keys.dir / "alice.key"))
    repo.model(seed=0)
    saves = {"a": repo.save()}
    repo.ckpt_ok("promote", "clf", "--stage", "dev", "--rationale", "good")
    repo.ckpt_ok("promote", "clf", "--stage", "staging", "--rationale", "good")
    repo.ckpt_ok("lock", "production", "--rationale", "release freeze")
    repo.model(seed=1)
    saves["b"] = repo.save()
    repo.model("models/other.safetensors", seed=2)
    saves["o"] = repo.save("models/other.safetensors", "other")
    (repo.path / "deploy").mkdir(exist_ok=True)
    (repo.path / "deploy" / "notes.txt").write_text("deploy notes\n")
    repo.git("add", "deploy/notes.txt")
    repo.git("commit", "-q", "-m", "deploy notes")
    deploy = repo.git("rev-parse", "HEAD").strip()
    server = base / "server.git"
    git(base, "init", "-q", "--bare", str(server))
    done = repo.run_git_ckpt("hooks", "install", "--server", str(server))
    assert done.returncode == 0, done.stderr
    repo.git("remote", "add", "origin", str(server))
    pushed = push(repo, "main", "--tags")
    assert pushed.returncode == 0, pushed.stderr
    repo.ckpt_ok("stages")  # the verdict cache remembers each valid tag's object
    return saves, deploy


@pytest.fixture
def world(prepared: tuple[Path, dict, str], tmp_path: Path,
          monkeypatch: pytest.MonkeyPatch) -> World:
    base, saves, deploy = prepared
    for part in ("repo", "server.git"):
        shutil.copytree(base / part, tmp_path / part, symlinks=True)
    repo = Repo(tmp_path / "repo", base / "repo-dvc-remote")
    repo.git("remote", "set-url", "origin", str(tmp_path / "server.git"))
    monkeypatch.setenv("GNUPGHOME", str(base / "gnupg"))
    return World(repo, tmp_path / "server.git", Keys(base / "keys"), saves, deploy)


# -- the cases ---------------------------------------------------------------------------------
def _signed(name: str, signer: str = "alice", save: str = "b", stage: str | None = "dev",
            on: str | None = None, **kw: object) -> Callable[[World], None]:
    """A tag signed by ``signer`` about ``save``, on that save's commit (or on save ``on``)."""
    def forge(w: World) -> None:
        target = w.saves[on or save]["commit"]
        w.tag(name, target, w.msg(save, stage, **kw), signer)  # type: ignore[arg-type]
    return forge


def _light(name: str) -> Callable[[World], None]:
    return lambda w: w.tag(name, w.saves["b"]["commit"], "", None, "light")


def _unsigned(w: World) -> None:
    w.tag("clf#dev#4", w.saves["b"]["commit"], w.msg("b"), None)


def _pgp(w: World) -> None:
    w.tag("clf#dev#4", w.saves["b"]["commit"], w.msg("b"), "mallory", "pgp")


def _marker_in_body(w: World) -> None:
    """A real signature copied from another tag into the body, with trailers after it."""
    raw = w.repo.git("cat-file", "tag", "clf#dev#1")
    sig = raw[raw.index("-----BEGIN SSH SIGNATURE-----"):]
    w.tag("clf#dev#4", w.saves["b"]["commit"], "promote\n\n" + sig + "\n" + w.msg("b"), None)


def _renamed(w: World) -> None:
    w.tag("clf#dev#5", w.saves["b"]["commit"], w.msg("b"), "alice")
    obj = w.repo.git("rev-parse", "refs/tags/clf#dev#5").strip()
    w.repo.git("update-ref", "refs/tags/clf#dev#4", obj)
    w.repo.git("tag", "-d", "clf#dev#5")


def _tree(w: World) -> None:
    w.tag("clf#dev#4", f"{w.saves['b']['commit']}^{{tree}}", w.msg("b"), "alice")


def _deploy(w: World) -> None:
    w.tag("clf#dev#4", w.deploy, w.msg("b"), "alice")


def _recreated(w: World) -> None:
    w.repo.git("tag", "-d", "clf#dev#1")
    w.tag("clf#dev#1", w.saves["b"]["commit"], w.msg("b"), "alice")


def _unlock(signer: str | None) -> Callable[[World], None]:
    def forge(w: World) -> None:
        w.tag("ckpt/unlock/production/2", w.deploy, "unlock\n\nCkpt-Action: unlock\n"
              "Ckpt-Stage: production\nRationale: ship it\n", signer)
    return forge


def _unassign_without_action(w: World) -> None:
    a = w.saves["a"]
    w.tag("clf#dev!#4", a["commit"], f"unassign\n\nCkpt-Id: {a['id']}\nCkpt-Stage: dev\n"
          "Rationale: gone\n", "alice")


def _deprecate_by_bob(w: World) -> None:
    w.tag("clf@deprecated#4", w.saves["b"]["commit"], w.msg("b", None, "deprecate"), "bob")


def _work_tree_signer(w: World) -> None:
    signers = w.repo.path / ".ckpt" / "allowed_signers"
    signers.write_text(signers.read_text() + w.keys.line("mallory"))
    w.tag("clf#dev#4", w.saves["b"]["commit"], w.msg("b"), "mallory")


def _unsigned_trust_commit(w: World) -> None:
    signers = w.repo.path / ".ckpt" / "allowed_signers"
    signers.write_text(signers.read_text() + w.keys.line("mallory"))
    w.repo.git("commit", "-q", "-m", "add a teammate", ".ckpt/allowed_signers")
    # as if fetched from a host without our pre-receive: the change is on origin/main
    w.repo.git("update-ref", "refs/remotes/origin/main", "HEAD")
    w.tag("clf#dev#4", w.saves["b"]["commit"], w.msg("b"), "mallory")


def _forged_save(w: World) -> None:
    """An edit of save a's sidecar (a better metric), dressed as a save by a copied trailer."""
    a = w.saves["a"]
    side = w.repo.path / "models" / "clf.safetensors.ckpt.yaml"
    w.repo.git("checkout", "-q", a["commit"], "--", "models/clf.safetensors.ckpt.yaml",
               "models/clf.safetensors.dvc")
    side.write_text(side.read_text().replace("created_at:", "labels: [forged]\ncreated_at:"))
    w.repo.git("commit", "-q", "--no-verify", "-m", f"save clf\n\nCkpt-Id: {a['id']}\n"
               "Ckpt-Name: clf\n", "--", "models/clf.safetensors.ckpt.yaml",
               "models/clf.safetensors.dvc")
    forged = w.repo.git("rev-parse", "HEAD").strip()
    w.tag("clf#dev#4", forged, w.msg("a"), "alice")


U2028 = "\u2028"
CASES = [
    Case("unsigned", _unsigned, "clf#dev#4"),
    Case("lightweight-counted", _light("clf#dev#4"), "clf#dev#4"),
    Case("lightweight-no-counter", _light("clf#dev"), "clf#dev"),
    Case("lightweight-unassign", _light("clf#dev!"), "clf#dev!"),
    Case("lightweight-unassign-counted", _light("clf#dev!#4"), "clf#dev!#4"),
    Case("lightweight-version", _light("clf@v9.9.9"), "clf@v9.9.9", None),
    Case("lightweight-deprecated", _light("clf@deprecated"), "clf@deprecated", None),
    Case("lightweight-deprecated-counted", _light("clf@deprecated#4"), "clf@deprecated#4",
         None),
    Case("upper-case", _signed("CLF#DEV#4"), "CLF#DEV#4"),
    Case("no-counter-signed", _signed("clf#dev"), "clf#dev"),
    Case("leading-zero-counter", _signed("clf#dev#04"), "clf#dev#04"),
    Case("unknown-form", _signed("clf#dev#4x"), "clf#dev#4x"),
    Case("gto-created-form", _signed("clf@created"), "clf@created", None),
    Case("foreign-key", _signed("clf#dev#4", "mallory"), "clf#dev#4"),
    Case("revoked-key", _signed("clf#dev#4", "rob"), "clf#dev#4"),
    Case("key-expired-before-tag", _signed("clf#dev#4", "eve"), "clf#dev#4"),
    Case("signed-by-lie", _signed("clf#dev#4", "mallory", signed_by="alice@example.com"),
         "clf#dev#4"),
    Case("signed-by-names-another-key", _signed("clf#dev#4", "bob",
                                                signed_by="alice@example.com"), "clf#dev#4"),
    Case("openpgp-signed", _pgp, "clf#dev#4"),
    Case("marker-in-body", _marker_in_body, "clf#dev#4"),
    Case("renamed-tag-object", _renamed, "clf#dev#4"),
    Case("tag-on-tree", _tree, "clf#dev#4"),
    Case("tag-on-deploy-commit", _deploy, "clf#dev#4"),
    Case("tag-on-other-save", _signed("clf#dev#4", save="o"), "clf#dev#4"),
    Case("id-and-seal-of-another-save", _signed("clf#dev#4", save="a", on="b"), "clf#dev#4"),
    Case("wrong-seal", _signed("clf#dev#4", seal="sha256:" + "0" * 64), "clf#dev#4"),
    Case("duplicate-trailers", _signed("clf#dev#4", extra="Ckpt-Seal: sha256:" + "1" * 64
                                       + "\n"), "clf#dev#4"),
    Case("stage-trailer-mismatch", _signed("clf#dev#4", stage="production"), "clf#dev#4"),
    Case("stage-not-in-config", _signed("clf#qa#4", stage="qa"), "clf#qa#4", "qa"),
    Case("u2028-approval-smuggling", _signed(
        "clf#canary#4", stage="canary", extra=f"Impact: none{U2028}Approved-By: carol@x\n"),
        "clf#canary#4", "canary"),
    Case("self-approval", _signed("clf#canary#4", stage="canary",
                                  extra="Approved-By: alice@example.com\n"),
         "clf#canary#4", "canary"),
    Case("approvals-below-threshold", _signed(
        "clf#production#4", stage="production", extra="Approved-By: bob@example.com\n"),
        "clf#production#4", "production"),
    Case("revert-approvals-below-threshold", _signed(
        "clf#production#4", stage="production", action="revert",
        extra="Reverts: clf#production#3\nApproved-By: bob@example.com\n"),
        "clf#production#4", "production"),
    Case("stage-signer-not-allowed", _signed("clf#canary#4", "bob", stage="canary",
                                             extra="Approved-By: carol@example.com\n"),
         "clf#canary#4", "canary"),
    Case("unsigned-unlock", _unlock(None), "ckpt/unlock/production/2", None),
    Case("unlock-by-unentitled-signer", _unlock("bob"), "ckpt/unlock/production/2", None),
    Case("unassign-without-action", _unassign_without_action, "clf#dev!#4"),
    Case("deprecate-by-unentitled-signer", _deprecate_by_bob, "clf@deprecated#4", None),
    Case("tag-deleted-and-recreated", _recreated, "clf#dev#1"),
    Case("trust-file-edited-in-work-tree", _work_tree_signer, "clf#dev#4"),
    Case("trust-file-changed-by-unsigned-commit", _unsigned_trust_commit, "clf#dev#4",
         push_main=True),
    Case("forged-save-copied-id", _forged_save, "clf#dev#4", push_main=True),
]


# -- the readers -------------------------------------------------------------------------------
def _server_tags(server: Path) -> set[str]:
    return set(git(server, "tag", "-l").split())


def _readers(w: World, case: Case) -> dict[str, str]:
    """Reader -> what it let through (an empty dict: every reader refused or flagged it)."""
    leaks: dict[str, str] = {}
    repo, tag = w.repo, case.tag
    ref = f"refs/tags/{tag}"
    refs = ["main", ref] if case.push_main else [ref]
    client = subprocess.run(["git", "push", "origin", *refs], cwd=repo.path, text=True,
                            capture_output=True, check=False)
    if client.returncode == 0 or "ckpt pre-push" not in client.stderr:
        leaks["pre-push"] = client.stderr[-300:]
    server = push(repo, "--no-verify", *refs)
    refused = "ckpt pre-receive" in server.stderr or (
        case.id == "tag-deleted-and-recreated" and "(already exists)" in server.stderr)
    if server.returncode == 0 or not refused \
            or (tag in _server_tags(w.server) and case.id != "tag-deleted-and-recreated"):
        leaks["pre-receive"] = server.stderr[-300:]
    verify = repo.ckpt("verify", "--all", "--offline", "--json")
    named = {"forged-save-copied-id": "forged-save",
             "trust-file-changed-by-unsigned-commit": "without an admin's signature"}
    if verify.code == 0 or (named.get(case.id, tag).casefold() not in verify.out.casefold()
                            and case.id != "trust-file-edited-in-work-tree"):
        leaks["verify"] = verify.out[-300:]
    audit = repo.ckpt("audit", "--format", "json")
    failed = [e for e in audit.json()["events"] if e["status"] != "ok"] if audit.out else []
    if not failed:
        leaks["audit"] = audit.out[-300:]
    stages = repo.ckpt_ok("stages", "--json").json()
    holders = {(h["name"], h["stage"]): h for h in stages["holders"]}
    if tag not in {u["tag"] for u in stages["unverified"]} and "trust" not in case.id \
            or any(h["tag"] == tag and tag != "clf#dev#1" for h in holders.values()):
        leaks["stages"] = str(stages)[-300:]
    if "production" not in stages["locked"] or "clf" in stages["deprecated"]:
        leaks["stages"] = f"lock or deprecation changed: {stages}"
    dev = holders.get(("clf", "dev"), {}).get("commit")
    if dev != w.saves["a"]["commit"] and not (case.id == "tag-deleted-and-recreated"
                                              and dev is None):
        leaks["stages"] = f"dev is held by {holders.get(('clf', 'dev'))}"
    history = repo.ckpt_ok("history", "clf", "--json").json()
    shown = [e for e in history if e["tag"] == tag]
    if (shown and shown[0]["verified"]) or (not shown and "/" not in tag
                                             and tag.casefold().startswith("clf")):
        leaks["history"] = str(shown)
    if case.stage and case.stage in ("dev", "staging", "canary", "production"):
        show = repo.ckpt("show", f"clf#{case.stage}", "--json")
        holder = {"dev": "a", "staging": "a"}.get(case.stage)
        want = w.saves[holder]["commit"] if holder else None
        if show.code == 0 and show.json()["commit"] != want:
            leaks["show"] = show.out[-300:]
    return leaks


def test_the_prepared_repository_passes_every_reader(world: World) -> None:
    """The control: untouched, every reader is content, so each case's refusal is its own."""
    repo = world.repo
    assert repo.ckpt("verify", "--all", "--offline").code == 0
    audit = repo.ckpt_ok("audit", "--format", "json").json()
    assert [e for e in audit["events"] if e["status"] != "ok"] == []
    stages = repo.ckpt_ok("stages", "--json").json()
    assert stages["unverified"] == [] and "production" in stages["locked"]
    assert {(h["name"], h["stage"]) for h in stages["holders"]} == {
        ("clf", "dev"), ("clf", "staging")}
    assert all(e["verified"] for e in repo.ckpt_ok("history", "clf", "--json").json())
    assert repo.ckpt_ok("show", "clf#dev", "--json").json()["commit"] == world.saves["a"]["commit"]
    world.tag("clf#dev#4", world.saves["b"]["commit"], world.msg("b"), "alice")  # a genuine one
    done = subprocess.run(["git", "push", "origin", "refs/tags/clf#dev#4"], cwd=repo.path,
                          text=True, capture_output=True, check=False)
    assert done.returncode == 0, done.stderr
    assert repo.ckpt_ok("show", "clf#dev", "--json").json()["commit"] == world.saves["b"]["commit"]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_every_reader_refuses_or_flags(world: World, case: Case) -> None:
    before = _server_tags(world.server)
    assert BASE_TAGS <= before
    case.forge(world)
    leaks = _readers(world, case)
    assert not leaks, f"{case.id} got past: {leaks}"
    assert _server_tags(world.server) == before  # nothing GTO could serve reached the server


def test_matrix_covers_at_least_thirty_cases() -> None:
    assert len(CASES) >= 30 and len({c.id for c in CASES}) == len(CASES)


def _gto_show(path: Path) -> dict:
    import json

    done = subprocess.run([f"{BIN}/gto", "show", "--json"], cwd=path, capture_output=True,
                          text=True, check=True)
    return json.loads(done.stdout)


def test_what_gto_serves_from_the_server_never_includes_a_refused_forgery(
        world: World, tmp_path: Path) -> None:
    """The forms GTO reads, forged and pushed past the client hook: the server refuses each,
    so a clone of it serves through real ``gto show`` exactly what it served before, while
    the forger's own clone shows GTO taken in."""
    git(tmp_path, "clone", "-q", str(world.server), "before")
    served = _gto_show(tmp_path / "before")
    assert served["clf"]["stage"]  # GTO reads our genuine tags
    for forge in (_light("clf#dev"), _light("clf@deprecated"), _unsigned,
                  _signed("CLF#DEV#5"), _signed("clf#dev#06", "mallory")):
        forge(world)
    for tag in ("clf#dev", "clf@deprecated", "clf#dev#4", "CLF#DEV#5", "clf#dev#06"):
        done = push(world.repo, "--no-verify", f"refs/tags/{tag}")
        assert done.returncode != 0 and "ckpt pre-receive: refused" in done.stderr, tag
    git(tmp_path, "clone", "-q", str(world.server), "after")
    assert _gto_show(tmp_path / "after") == served
    assert _gto_show(world.repo.path) != served  # locally, GTO would serve the forgeries
