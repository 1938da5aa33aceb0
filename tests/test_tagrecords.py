"""The cache of tag records (``governance.tagrecords``): a warm ``stages``/``history`` reads
only ref names and object ids from git and takes each tag's fields from the cache by TAG
OBJECT ID; verdicts stay the verifier's (per tag object, name and trust root).

Every attack here runs against a warm cache, and the answer must be exactly what a cold run
(no cache at all) gives: real git, real ssh-keygen keys, real signed tags, no mocks.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import Repo, make_repo
from governance_fixtures import Keys, govern, use_key

CACHE = Path(".git/ckpt/tag-records-v1.json")
VERDICTS = Path(".git/ckpt/verdicts-v1.json")


@pytest.fixture
def gov(tmp_path: Path, keys: Keys) -> Repo:
    """clf saved twice (a, b); a promoted to dev and staging by alice; caches warm."""
    repo = make_repo(tmp_path)
    govern(repo, keys)
    repo.model(seed=1)
    repo.save("models/clf.safetensors", "clf")
    repo.ckpt_ok("promote", "clf", "--stage", "dev", "--rationale", "first")
    repo.ckpt_ok("promote", "clf", "--stage", "staging", "--rationale", "second")
    repo.model(seed=2)
    repo.save("models/clf.safetensors", "clf")
    answers(repo)
    assert (repo.path / CACHE).is_file()
    return repo


def answers(repo: Repo) -> tuple[str, str, str, str]:
    """Everything the two readers print: stages and history, JSON and text."""
    out = []
    for args in (("stages", "--json"), ("history", "--json"), ("stages",), ("history",)):
        res = repo.ckpt(*args)
        assert res.code == 0, res.err
        out.append(res.out + res.err)
    return out[0], out[1], out[2], out[3]


def cold(repo: Repo, *, verdicts: bool = False) -> tuple[str, str, str, str]:
    """The answers with no cache of records (nor of verdicts, if told), then the caches put
    back as they were. The verdicts' memory of each valid tag's object stays by default: it
    is what tells a re-created tag, and a run without it cannot know."""
    gone = (CACHE, VERDICTS) if verdicts else (CACHE,)
    saved = {p: (repo.path / p).read_bytes() for p in gone if (repo.path / p).is_file()}
    for p in gone:
        target = repo.path / p
        if target.is_dir():
            shutil.rmtree(target)
        target.unlink(missing_ok=True)
    try:
        return answers(repo)
    finally:
        for p in gone:
            if not (repo.path / p).is_dir():
                (repo.path / p).unlink(missing_ok=True)
        for p, data in saved.items():
            (repo.path / p).write_bytes(data)


def event(repo: Repo, tag: str) -> dict:
    found = [e for e in repo.ckpt_ok("history", "--json").json() if e["tag"] == tag]
    assert len(found) == 1, found
    return found[0]


def oid(repo: Repo, rev: str) -> str:
    return repo.git("rev-parse", rev).strip()


def hand_tag(repo: Repo, keys: Keys, name: str, target: str, message: str,
             signer: str | None) -> None:
    """A tag made with plain git, signed with ``signer``'s key (or not signed at all)."""
    opts = ["-c", "gpg.format=ssh", "-c", f"user.signingkey={keys.dir / f'{signer}.key'}"] \
        if signer else []
    done = subprocess.run(["git", *opts, "tag", "-s" if signer else "-a", "-F", "-", name,
                           target], cwd=repo.path, input=message, text=True,
                          capture_output=True, check=False)
    assert done.returncode == 0, done.stderr


def test_a_warm_run_answers_exactly_what_a_cold_one_does(gov: Repo) -> None:
    warm = answers(gov)
    assert warm == cold(gov) == cold(gov, verdicts=True)
    assert json.loads(warm[0])["holders"][0]["stage"] == "dev"


def test_a_tag_deleted_and_made_again_shows_its_new_object(gov: Repo, keys: Keys) -> None:
    b = gov.ckpt_ok("show", "clf", "--json").json()
    old = event(gov, "clf#dev#1")
    gov.git("tag", "-d", "clf#dev#1")
    msg = (f"promote\n\nCkpt-Action: promote\nCkpt-Id: {b['id']}\nCkpt-Stage: dev\n"
           "Rationale: swapped in\n")
    hand_tag(gov, keys, "clf#dev#1", b["commit"], msg, "mallory")
    now = event(gov, "clf#dev#1")
    assert (now["commit"], now["rationale"]) == (b["commit"], "swapped in") != \
        (old["commit"], old["rationale"])
    assert not now["verified"] and now["signer"] is None
    assert not any(h["commit"] == b["commit"] for h in
                   gov.ckpt_ok("stages", "--json").json()["holders"])
    # made again by a signer the trust root allows: still never counted
    gov.git("tag", "-d", "clf#dev#1")
    hand_tag(gov, keys, "clf#dev#1", b["commit"], msg, "alice")
    now = event(gov, "clf#dev#1")
    assert now["commit"] == b["commit"] and not now["verified"]
    assert any("deleted and made again" in p for p in now["problems"])


def test_a_changed_trust_root_overturns_a_cached_valid(gov: Repo, keys: Keys) -> None:
    assert event(gov, "clf#dev#1")["verified"]
    signers = gov.path / ".ckpt" / "allowed_signers"
    signers.write_text(keys.line("bob") + keys.line("carol"))  # alice's key is gone
    gov.git("-c", "commit.gpgsign=true", "commit", "-q", "-S", "-m", "rotate: alice leaves",
            ".ckpt/allowed_signers")
    dev = event(gov, "clf#dev#1")
    assert not dev["verified"] and dev["signer"] is None
    assert gov.ckpt_ok("stages", "--json").json()["holders"] == []
    assert answers(gov) == cold(gov)


def test_a_ref_moved_to_another_tag_object_shows_that_object(gov: Repo) -> None:
    staging = oid(gov, "refs/tags/clf#staging#2")
    gov.git("update-ref", "refs/tags/clf#dev#1", staging)
    dev = event(gov, "clf#dev#1")
    assert not dev["verified"] and any("renamed tag" in p for p in dev["problems"])
    assert dev["rationale"] == "second"  # the body of the object the ref now names
    assert answers(gov) == cold(gov)


def test_a_tag_turned_lightweight_is_read_as_one(gov: Repo) -> None:
    commit = oid(gov, "clf#dev#1^{commit}")
    gov.git("update-ref", "refs/tags/clf#dev#1", commit)
    dev = event(gov, "clf#dev#1")
    assert not dev["verified"] and any("lightweight" in p for p in dev["problems"])
    assert answers(gov) == cold(gov)


def _truncated(repo: Repo) -> bytes:
    data = (repo.path / CACHE).read_bytes()
    return data[: len(data) // 2]


def _retyped(column: str, value: object) -> object:
    def forge(repo: Repo) -> bytes:
        data = json.loads((repo.path / CACHE).read_bytes())
        row = data["objects"].index(oid(repo, "refs/tags/clf#dev#1"))
        data[column][row] = value
        return json.dumps(data).encode()
    return forge


def _shortened(repo: Repo) -> bytes:
    data = json.loads((repo.path / CACHE).read_bytes())
    data["bodies"].pop()
    return json.dumps(data).encode()


HOSTILE = {
    "empty": b"",
    "truncated": _truncated,
    "garbage": b"\x00\xff not json",
    "not an object": b"[1, 2, 3]",
    "columns not lists": b'{"version": 1, "objects": {}, "annotated": {}, "targets": {},'
                         b' "dates": {}, "taggers": {}, "bodies": {}}',
    "wrong version": b'{"version": 99}',
    "nested past any parser": b"[" * 200_000 + b"]" * 200_000,
    "huge number": b'{"version": 1, "dates": [1' + b"0" * 100_000 + b"]}",
    "lone surrogate": b'{"version": 1, "bodies": ["\\udcff"]}',
    "a target that is no object id": _retyped("targets", "--output=/tmp/x"),
    "a date that is a string": _retyped("dates", "yesterday"),
    "a date that is a float": _retyped("dates", 1.5),
    "a body that is a list": _retyped("bodies", ["Rationale: x"]),
    "a column shorter than the others": _shortened,
    "an object id that is no id": _retyped("objects", "HEAD"),
    "a date that is a bool": _retyped("dates", True),
    "a kind that is no bool": _retyped("annotated", "tag"),
}


@pytest.mark.parametrize("form", list(HOSTILE))
def test_a_hostile_cache_file_is_ignored_and_rebuilt(gov: Repo, form: str) -> None:
    want = cold(gov)
    hostile = HOSTILE[form]
    data = hostile(gov) if callable(hostile) else hostile
    assert isinstance(data, bytes)
    (gov.path / CACHE).write_bytes(data)
    assert answers(gov) == want
    rebuilt = json.loads((gov.path / CACHE).read_bytes())
    assert oid(gov, "refs/tags/clf#dev#1") in rebuilt["objects"]
    assert answers(gov) == want


def test_a_cache_that_cannot_be_written_only_costs_time(gov: Repo) -> None:
    want = cold(gov)
    (gov.path / CACHE).unlink()
    (gov.path / CACHE).mkdir()
    assert answers(gov) == want


def test_an_entry_for_an_object_no_ref_names_shows_nothing(gov: Repo) -> None:
    data = json.loads((gov.path / CACHE).read_bytes())
    row = data["objects"].index(oid(gov, "refs/tags/clf#dev#1"))
    for column in data:
        if column != "version":
            data[column].append("f" * 40 if column == "objects" else data[column][row])
    (gov.path / CACHE).write_text(json.dumps(data))
    assert answers(gov) == cold(gov)


def test_a_message_cannot_forge_a_record_of_another_tag(gov: Repo, keys: Keys) -> None:
    """An ordinary tag (not ours, pushed by anyone) whose message holds the separators the
    listing uses must not add an event: it tried to make a VALID tag object's name point at
    another commit."""
    b = gov.ckpt_ok("show", "clf", "--json").json()
    dev = oid(gov, "refs/tags/clf#dev#1")
    forged = "".join(f"{sep}\nclf#dev#1{f}{dev}{f}tag{f}{b['commit']}{f}4102444800{f}"
                     f"Eve <e@x>{f}Ckpt-Action: promote\n"
                     for sep in ("\x1e", "\x1e\x1e") for f in ("\x1f",))
    hand_tag(gov, keys, "release-notes", "HEAD", f"notes\n\nline{forged}", None)
    events = gov.ckpt_ok("history", "--json").json()
    assert [e["tag"] for e in events].count("clf#dev#1") == 1
    holders = gov.ckpt_ok("stages", "--json").json()["holders"]
    assert all(h["commit"] != b["commit"] for h in holders)
    assert answers(gov) == cold(gov)


def test_a_name_filter_reads_the_same_records(gov: Repo, keys: Keys) -> None:
    use_key(gov.path, keys, "alice")
    gov.model("models/other.safetensors", seed=3)
    gov.save("models/other.safetensors", "other")
    gov.ckpt_ok("promote", "other", "--stage", "dev", "--rationale", "other first")
    named = gov.ckpt_ok("history", "other", "--json").json()
    assert "other#dev#1" in [e["tag"] for e in named]
    assert {e["name"] for e in named} == {"other"}
    assert answers(gov) == cold(gov)
    assert gov.ckpt_ok("history", "other", "--json").json() == named


def _verdicts(edit: object) -> object:
    def forge(repo: Repo) -> bytes:
        data = json.loads((repo.path / VERDICTS).read_bytes())
        key = next(k for k in data["verdicts"] if k.endswith(":clf#dev#1"))
        assert callable(edit)
        edit(data, key)
        return json.dumps(data).encode()
    return forge


HOSTILE_VERDICTS = {
    "problems not a list": _verdicts(lambda d, k: d["verdicts"].__setitem__(k, [5, None])),
    "a problem not text": _verdicts(lambda d, k: d["verdicts"].__setitem__(k, [[1], None])),
    "a principal not text": _verdicts(lambda d, k: d["verdicts"].__setitem__(k, [[], 7])),
    "a remembered object not text": _verdicts(
        lambda d, k: d["names"].__setitem__("clf#dev#1", 12)),
    "verdicts not a mapping": b'{"verdicts": [], "names": {}}',
    "nested past any parser": b"[" * 200_000 + b"]" * 200_000,
    "garbage": b"\xff\x00",
}


@pytest.mark.parametrize("form", list(HOSTILE_VERDICTS))
def test_a_hostile_verdict_cache_is_judged_again(gov: Repo, form: str) -> None:
    want = cold(gov, verdicts=True)
    hostile = HOSTILE_VERDICTS[form]
    data = hostile(gov) if callable(hostile) else hostile
    assert isinstance(data, bytes)
    (gov.path / VERDICTS).write_bytes(data)
    assert answers(gov) == want


def test_an_odd_form_of_a_saved_name_is_listed_unverified(gov: Repo, keys: Keys) -> None:
    a = event(gov, "clf#dev#1")
    hand_tag(gov, keys, "clf#dev#1x", a["commit"], "odd\n\nCkpt-Action: promote\n", "alice")
    odd = event(gov, "clf#dev#1x")
    assert not odd["verified"] and odd["commit"] == a["commit"]
    assert answers(gov) == cold(gov)


@pytest.mark.parametrize("when", [0, 59, 951782400, 1700000000, 253402300799, -1,
                                  -62135596800])
def test_dates_print_as_before(when: int) -> None:
    from datetime import UTC, datetime

    from ckptgit.governance.tagevents import iso

    assert iso(when) == datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_tagger_date_past_year_9999_is_shown_not_a_crash(gov: Repo) -> None:
    commit = oid(gov, "HEAD")
    raw = (f"object {commit}\ntype commit\ntag clf#dev#9\n"
           "tagger Eve <e@x> 99999999999999 +0000\n\nfar\n\nCkpt-Action: promote\n").encode()
    made = subprocess.run(["git", "hash-object", "-t", "tag", "-w", "--stdin", "--literally"],
                          cwd=gov.path, input=raw, capture_output=True, check=True)
    gov.git("update-ref", "refs/tags/clf#dev#9", made.stdout.decode().strip())
    far = event(gov, "clf#dev#9")
    assert far["created_at"] == "@99999999999999" and not far["verified"]
    assert answers(gov) == cold(gov)
