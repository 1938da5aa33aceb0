"""The git adapter: the only module that runs git.

Everything is plumbing run as subprocesses: it honours the user's git configuration (signing,
identity, hooks path) exactly as their own git would, and reads are batched (one ``log``, one
``for-each-ref``, one ``cat-file --batch``) so cost does not grow with a process per object.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ckptgit.errors import ExternalError, NotARepoError

RECORD = "\x1e"
FIELD = "\x1f"


def separators() -> tuple[str, str]:
    """``(field, record)`` separators for one listing's ``--format``, a random token in each.

    A message, trailer, author name or path may hold any byte, ``RECORD`` and ``FIELD``
    included: split on fixed separators, one pushed commit could add a record of its
    choosing (another commit's id carrying its own changed files, so a hook checked an
    older sidecar in place of its own). A token drawn per call cannot be written in advance.
    """
    token = secrets.token_hex(16)
    return f"{FIELD}{token}{FIELD}", f"{RECORD}{token}{RECORD}"


@dataclass(frozen=True)
class LogEntry:
    """One commit as ``log_saves`` reports it."""

    commit: str
    committed_at: int
    trailers: dict[str, str]
    files: tuple[str, ...]
    # path -> the blob it holds at this commit (``log_saves(..., blobs=True)``; None deleted)
    blobs: dict[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class RefEntry:
    name: str
    object: str
    target: str
    created_at: int


@dataclass(frozen=True)
class TagRecord:
    """A tag with its message body, as one ``for-each-ref`` reports it."""

    name: str  # short name, without refs/tags/
    object: str  # the tag object (or the commit, for a lightweight tag)
    target: str  # the peeled commit
    annotated: bool
    created_at: int
    tagger: str  # "Name <email>", empty for a lightweight tag
    body: str  # message after the subject; the signature is not part of it


def _git_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("GIT_TERMINAL_PROMPT", "0")
    env["LC_ALL"] = "C"
    if extra:
        env.update(extra)
    return env


class Git:
    """A work tree and its repository."""

    def __init__(self, root: Path, git_dir: Path, common_dir: Path) -> None:
        self.root = root
        self.git_dir = git_dir
        self.common_dir = common_dir
        self._pin = threading.local()  # HEAD as ``head_pinned`` read it, per thread

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def discover(cls, start: str | os.PathLike[str] = ".") -> Git:
        done = subprocess.run(  # noqa: S603
            ["git", "rev-parse", "--show-toplevel", "--absolute-git-dir", "--git-common-dir"],
            cwd=start, capture_output=True, text=True, env=_git_env(), check=False,
        )
        if done.returncode != 0:
            raise NotARepoError(
                f"not a git repository: {Path(start).resolve()} (run 'git init' first)"
            )
        lines = done.stdout.split("\n")  # a path may hold U+2028, which splitlines breaks on
        if len(lines) < 3 or not lines[0]:
            raise NotARepoError("not inside a git work tree (a bare repository holds no "
                                "checkpoints)")
        root = Path(lines[0]).resolve()
        git_dir = Path(lines[1]).resolve()
        common = Path(lines[2])
        common = (common if common.is_absolute() else (Path(start) / common)).resolve()
        return cls(root, git_dir, common)

    @classmethod
    def bare(cls, path: str | os.PathLike[str] = ".") -> Git:
        """A repository without a work tree (a server's, for ``pre-receive``)."""
        if not Path(path).is_dir():
            raise NotARepoError(f"not a git repository: {path} is not a directory")
        done = subprocess.run(  # noqa: S603
            ["git", "rev-parse", "--absolute-git-dir"],
            cwd=path, capture_output=True, text=True, env=_git_env(), check=False,
        )
        if done.returncode != 0:
            raise NotARepoError(f"not a git repository: {Path(path).resolve()}")
        git_dir = Path(done.stdout.strip()).resolve()
        return cls(git_dir, git_dir, git_dir)

    @property
    def ckpt_dir(self) -> Path:
        """Local-only state (index, locks); rebuildable from git, never shared."""
        return self.common_dir / "ckpt"

    # -- running --------------------------------------------------------------------------
    def run(
        self,
        args: Sequence[str],
        *,
        input: bytes | None = None,
        env: Mapping[str, str] | None = None,
        check: bool = True,
    ) -> subprocess.CompletedProcess[bytes]:
        done = subprocess.run(  # noqa: S603
            ["git", *args], cwd=self.root, input=input, capture_output=True,
            env=_git_env(env), check=False,
        )
        if check and done.returncode != 0:
            raise ExternalError(f"git {args[0]} failed: {_first_line(done.stderr)}")
        return done

    def out(self, args: Sequence[str], **kw: object) -> str:
        return self.run(args, **kw).stdout.decode("utf-8", "surrogateescape")  # type: ignore[arg-type]

    # -- reading --------------------------------------------------------------------------
    def rev_parse(self, rev: str) -> str | None:
        done = self.run(["rev-parse", "--verify", "--quiet", "--end-of-options", rev], check=False)
        return done.stdout.decode().strip() or None if done.returncode == 0 else None

    def head(self) -> str | None:
        pinned: list[str | None] | None = getattr(self._pin, "head", None)
        if pinned is not None:
            return pinned[0]
        return self.rev_parse("HEAD^{commit}")

    @contextmanager
    def head_pinned(self) -> Iterator[str | None]:
        """HEAD read once for everything this thread does inside (nothing inside may move
        it): what is decided there is decided against one commit, with one ``rev-parse``."""
        outer = getattr(self._pin, "head", None)
        self._pin.head = None
        self._pin.head = [self.head()]
        try:
            yield self._pin.head[0]
        finally:
            self._pin.head = outer

    def branch(self) -> str | None:
        done = self.run(["symbolic-ref", "--quiet", "--short", "HEAD"], check=False)
        return done.stdout.decode().strip() or None if done.returncode == 0 else None

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        done = self.run(["merge-base", "--is-ancestor", ancestor, descendant], check=False)
        return done.returncode == 0

    def is_tracked(self, path: str) -> bool:
        done = self.run(["ls-files", "--error-unmatch", "--", path], check=False)
        return done.returncode == 0

    def tracked_under(self, path: str) -> list[str]:
        return [p for p in self.out(["ls-files", "-z", "--", path]).split("\0") if p]

    def config(self, key: str) -> str | None:
        done = self.run(["config", "--get", key], check=False)
        return done.stdout.decode().strip() if done.returncode == 0 else None

    def identity(self) -> str | None:
        done = self.run(["var", "GIT_COMMITTER_IDENT"], check=False)
        if done.returncode != 0:
            return None
        ident = done.stdout.decode().strip()
        return ident.rsplit(">", 1)[0] + ">" if ">" in ident else ident

    def dirty_state(self, exclude: Iterable[str] = (),
                    head: str | None | bool = True) -> tuple[bool, str | None, int]:
        """Whether the work differs from HEAD: tracked files changed (staged or not) or files
        git does not ignore left untracked. Returns the flag, a digest pinning the diff and the
        untracked files' names and bytes, and how many untracked files there are. ``head``:
        the commit HEAD was just read as (None: unborn), compared against that very commit;
        True reads it here."""
        excludes = [f":(exclude,literal){p}" for p in exclude]
        base = self.head() if head is True else head
        if not isinstance(base, str):
            return False, None, 0
        diff = self.run(["diff", base, "--binary", "--no-ext-diff", "--", ".", *excludes]).stdout
        listing = self.run(["ls-files", "--others", "--exclude-standard", "-z", "--", ".",
                            *excludes]).stdout
        untracked = sorted(p for p in listing.split(b"\0") if p)
        if not diff and not untracked:
            return False, None, 0
        import hashlib

        digest = hashlib.sha256(diff)
        for rel in untracked:
            digest.update(b"\0untracked\0" + rel + b"\0")
            digest.update(_file_digest(self.root / os.fsdecode(rel)))
        return True, digest.hexdigest(), len(untracked)

    def cat_files(self, specs: Sequence[str]) -> dict[str, bytes | None]:
        """Contents of many ``<rev>:<path>`` (or object ids) in one ``cat-file --batch``."""
        if not specs:
            return {}
        data = "".join(f"{s}\n" for s in specs).encode()
        raw = self.run(["cat-file", "--batch"], input=data).stdout
        result: dict[str, bytes | None] = {}
        pos = 0
        for spec in specs:
            nl = raw.index(b"\n", pos)
            header = raw[pos:nl].decode("utf-8", "surrogateescape")
            pos = nl + 1
            if header.endswith(" missing") or header.endswith(" ambiguous"):
                result[spec] = None
                continue
            size = int(header.rsplit(" ", 1)[1])
            result[spec] = raw[pos:pos + size]
            pos += size + 1
        return result

    def object_ids(self, specs: Sequence[str]) -> dict[str, str | None]:
        """The object id of many ``<rev>:<path>`` in one ``cat-file --batch-check`` (no
        contents read), None for those that do not exist."""
        if not specs:
            return {}
        data = "".join(f"{s}\n" for s in specs).encode()
        lines = self.run(["cat-file", "--batch-check=%(objectname) %(objecttype)"],
                         input=data).stdout.decode("utf-8", "surrogateescape").split("\n")[:-1]
        out: dict[str, str | None] = {}
        for spec, line in zip(specs, lines, strict=True):
            oid, _, kind = line.partition(" ")
            out[spec] = oid if kind == "blob" else None
        return out
    def peel_commits(self, revs: Sequence[str]) -> dict[str, str | None]:
        """The commit each rev names (tags peeled), or None for a missing object or one that is
        no commit (a tree, a blob); one ``cat-file --batch-check`` for them all."""
        unique = list(dict.fromkeys(revs))
        if not unique:
            return {}
        data = "".join(f"{r}^{{commit}}\n" for r in unique).encode()
        lines = self.run(["cat-file", "--batch-check=%(objectname) %(objecttype)"],
                         input=data).stdout.decode().split("\n")[:-1]
        found: dict[str, str | None] = {}
        for rev, line in zip(unique, lines, strict=False):
            oid, _, kind = line.partition(" ")
            found[rev] = oid if kind == "commit" else None
        return found

    def show_file(self, rev: str, path: str) -> bytes | None:
        return self.cat_files([f"{rev}:{path}"])[f"{rev}:{path}"]

    def blobs_named(self, keep: Callable[[str], bool]) -> list[str]:
        """Ids of every blob whose path passes ``keep``, in any commit reachable from any ref
        or reflog entry, or in any worktree's index (one ``rev-list``; what ``git gc`` keeps)."""
        text = self.out(["rev-list", "--objects", "--all", "--reflog", "--indexed-objects"])
        found = set()
        for line in text.split("\n"):  # a path may hold U+2028 or NEL: not a line break
            oid, _, path = line.partition(" ")
            if path and keep(path):
                found.add(oid)
        return sorted(found)

    def partial_history(self) -> str | None:
        """Why this clone may lack commits or blobs its refs reach (shallow, partial), or None."""
        if self.out(["rev-parse", "--is-shallow-repository"]).strip() == "true":
            return "this clone is shallow (git fetch --unshallow)"
        if self.config("extensions.partialClone"):
            return "this is a partial clone, missing blobs (git fetch --refetch, no filter)"
        return None

    def worktrees(self) -> list[Path]:
        """Every checked-out worktree of this repository (the main one first)."""
        out = self.out(["worktree", "list", "--porcelain"])
        return [Path(line[len("worktree "):]) for line in out.split("\n")
                if line.startswith("worktree ")]

    def files_in_worktree(self, worktree: Path, pathspecs: Sequence[str]) -> list[str]:
        """Tracked and untracked (not ignored) files of ``worktree`` matching ``pathspecs``."""
        out = self.out(["-C", str(worktree), "ls-files", "-z", "--cached", "--others",
                        "--exclude-standard", "--", *pathspecs])
        return sorted({n for n in out.split("\0") if n})

    def tree_blobs(self, rev: str, paths: Sequence[str]) -> dict[str, str]:
        """Path -> blob id of ``paths`` in commit ``rev`` (absent paths left out)."""
        return _oids(self.out(["ls-tree", "-z", rev, "--", *paths]), 2)

    def index_blobs(self, paths: Sequence[str]) -> dict[str, str]:
        """Path -> blob id of ``paths`` as staged in the index (stage 0 or conflict stages)."""
        return _oids(self.out(["ls-files", "-s", "-z", "--", *paths]), 1)

    def files_in_commit(self, rev: str, suffix: str) -> list[str]:
        names = self.out(["ls-tree", "-r", "-z", "--name-only", rev]).split("\0")
        return [n for n in names if n.endswith(suffix)]

    def diff_numstat(self, old: str, new: str) -> list[tuple[str, int | None, int | None]]:
        """``git diff --numstat`` of two commits: (path, lines added, lines deleted); None for
        binary files."""
        text = self.out(["diff", "--numstat", "-z", "--no-renames", old, new, "--"])
        rows = []
        for rec in text.split("\0"):
            if rec.count("\t") >= 2:
                added, deleted, path = rec.split("\t", 2)
                rows.append((path, int(added) if added.isdigit() else None,
                             int(deleted) if deleted.isdigit() else None))
        return rows

    def paths_changed(self, old: str, new: str, skip_grep: str | None = None) -> set[str]:
        """Paths touched by the commits of ``old...new``, skipping commits whose message
        matches ``skip_grep``."""
        args = ["log", "--format=", "--name-only", "-z", "--no-renames", f"{old}...{new}"]
        if skip_grep:
            args += ["--invert-grep", f"--grep={skip_grep}"]
        return {p.strip("\n") for p in self.out([*args, "--"]).split("\0") if p.strip("\n")}

    def count_between(self, old: str, new: str, skip_grep: str | None = None) -> tuple[int, int]:
        """Commits in ``new`` not in ``old`` and the reverse, skipping some by message."""
        args = ["rev-list", "--left-right", "--count", f"{old}...{new}"]
        if skip_grep:
            args += ["--invert-grep", f"--grep={skip_grep}"]
        behind, ahead = self.out(args).split()
        return int(ahead), int(behind)

    def log_saves(self, revs: Sequence[str], trailer_keys: Sequence[str],
                  blobs: bool = False) -> list[LogEntry]:
        """Save commits reachable from ``revs`` (newest first), with trailers and changed files.

        One ``git log`` whatever the history length; ``--grep`` lets git skip other commits.
        ``blobs``: also the blob each changed file holds (``--raw``, at no extra cost), so
        the files can be read by object id, without a tree walk per commit.
        """
        field, record = separators()
        fmt = record + field.join(
            ["%H", "%ct"] + [f"%(trailers:key={k},valueonly,separator=%x2c)" for k in trailer_keys]
        ) + field
        changes = ["--raw", "--no-abbrev"] if blobs else ["--name-only"]
        args = ["log", f"--format={fmt}", *changes, "-z", "--no-renames",
                f"--grep=^{trailer_keys[0]}: ", *revs, "--"]
        text = self.out(args)
        entries: list[LogEntry] = []
        for rec in text.split(record)[1:]:
            parts = rec.split(field)
            commit, when = parts[0], int(parts[1])
            values = parts[2:2 + len(trailer_keys)]
            tokens = parts[-1].split("\0")
            # paths are taken exactly as git gives them (a name may start or end with a line
            # break): only git's own line break after the header (``--name-only``) or before
            # each ``:modes`` (``--raw``) is stripped
            found: dict[str, str | None] = (_raw_changes(tokens) if blobs else dict.fromkeys(
                n for n in parts[-1].removeprefix("\0").removeprefix("\n").split("\0") if n))
            trailers = {k: v.strip() for k, v in zip(trailer_keys, values, strict=True)}
            entries.append(LogEntry(commit, when, trailers, tuple(found), found if blobs else {}))
        return entries

    def new_blobs(self, revs: Sequence[str], pathspecs: Sequence[str]) -> list[tuple[str, str,
                                                                                  str, int]]:
        """``(commit, path, blob, size)`` for every file matching ``pathspecs`` added or changed
        by the commits ``revs`` select (``[*new, "--not", "--all"]``: what a push brings)."""
        _, record = separators()
        text = self.out(["log", f"--format={record}%H", "--raw", "-z", "--no-renames",
                         "--no-abbrev", *revs, "--", *pathspecs])
        found: list[tuple[str, str, str]] = []
        for rec in text.split(record)[1:]:
            head, _, rest = rec.partition("\n")
            fields = rest.lstrip("\n\0").split("\0")
            for meta, path in zip(fields[0::2], fields[1::2], strict=False):
                parts = meta.split()
                if len(parts) == 5 and parts[4] != "D":
                    found.append((head.strip("\0\n "), path, parts[3]))
        if not found:
            return []
        sizes = {}
        out = self.out(["cat-file", "--batch-check=%(objectname) %(objectsize)"],
                       input="".join(f"{b}\n" for _, _, b in found).encode())
        for line in out.splitlines():
            oid, _, size = line.partition(" ")
            if size.isdigit():
                sizes[oid] = int(size)
        return [(c, p, b, sizes.get(b, 0)) for c, p, b in found]

    def for_each_ref(self, pattern: str) -> list[RefEntry]:
        fmt = "%(refname)%00%(objectname)%00%(*objectname)%00%(creatordate:unix)"
        rows = []
        for line in self.out(["for-each-ref", f"--format={fmt}", pattern]).split("\n")[:-1]:
            name, obj, peeled, when = line.split("\0")
            rows.append(RefEntry(name, obj, peeled or obj, int(when or 0)))
        return rows

    def for_each_ref_many(self, refs: Sequence[str]) -> list[RefEntry]:
        """Those of ``refs`` (full names) that exist, in one process."""
        fmt = "%(refname)%00%(objectname)%00%(*objectname)%00%(creatordate:unix)"
        rows = []
        for line in self.out(["for-each-ref", f"--format={fmt}", *refs]).split("\n")[:-1]:
            name, obj, peeled, when = line.split("\0")
            if name in refs:
                rows.append(RefEntry(name, obj, peeled or obj, int(when or 0)))
        return rows

    def tag_refs(self, patterns: Sequence[str], ignore_case: bool = False,
                 ) -> list[tuple[str, str]]:
        """``(short name, object id)`` of every tag under ``patterns``, in ``tag_records``'
        order. No object is read (git only lists refs): what a cache keyed by object id asks."""
        case = ["--ignore-case"] if ignore_case else []
        text = self.out(["for-each-ref", *case, "--format=%(refname:strip=2)%00%(objectname)",
                         *patterns])
        rows = []
        for line in text.split("\n"):  # a ref name holds neither a newline nor a NUL
            name, sep, oid = line.partition("\0")
            if sep:
                rows.append((name, oid))
        return rows

    def tag_records(self, patterns: Sequence[str], ignore_case: bool = False) -> list[TagRecord]:
        """Every tag under ``patterns`` with its body, in ONE ``for-each-ref`` (no process per tag).

        ``%(contents:body)`` rather than ``%(contents:trailers)``: the latter is empty on
        signed tags in git 2.39. A message may hold any byte, so the separators carry a
        random token per call: a tag whose message holds fixed separators could otherwise
        add a record of its choosing (another tag's name and object, with its own target).
        """
        field, record = separators()
        fmt = field.join(["%(refname:strip=2)", "%(objectname)", "%(objecttype)",
                          "%(*objectname)", "%(creatordate:unix)",
                          "%(taggername) %(taggeremail)", "%(contents:body)"]) + record
        case = ["--ignore-case"] if ignore_case else []
        text = self.out(["for-each-ref", *case, f"--format={fmt}", *patterns])
        rows = []
        for rec in text.split(record + "\n"):
            parts = rec.split(field)
            if len(parts) != 7:
                continue
            name, obj, kind, peeled, when, tagger, body = parts
            rows.append(TagRecord(name, obj, peeled or obj, kind == "tag", int(when or 0),
                                  tagger.strip() if kind == "tag" else "", body))
        return rows

    # -- writing --------------------------------------------------------------------------
    def create_signed_tag(
        self, tag: str, commit: str, message: str, date: int | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        """``git tag -s``; the caller must verify it, since git may write it UNSIGNED and exit 0.

        ``date`` (unix seconds) overrides the tagger date.
        """
        env = {"GIT_COMMITTER_DATE": f"{date} +0000"} if date is not None else None
        return self.run(["tag", "-s", "-F", "-", tag, commit], input=message.encode(), env=env,
                        check=False)

    def committer_time(self) -> int | None:
        """The date git would stamp on a commit or tag now (honours GIT_COMMITTER_DATE)."""
        done = self.run(["var", "GIT_COMMITTER_IDENT"], check=False)
        parts = done.stdout.decode().split()
        return int(parts[-2]) if done.returncode == 0 and len(parts) >= 2 and \
            parts[-2].isdigit() else None

    def delete_tag(self, tag: str, expected: str) -> None:
        """Remove a tag we just made and found invalid, only if it still is ours."""
        self.run(["update-ref", "-d", f"refs/tags/{tag}", expected], check=False)

    def worktree_add(self, path: Path, commit: str) -> None:
        self.run(["worktree", "add", "--detach", "--quiet", str(path), commit])

    def worktree_remove(self, path: Path) -> None:
        self.run(["worktree", "remove", "--force", str(path)], check=False)
        self.run(["worktree", "prune"], check=False)

    def write_blob(self, data: bytes) -> str:
        return self.out(["hash-object", "-w", "--stdin"], input=data).strip()

    def write_blobs(self, datas: Sequence[bytes]) -> list[str]:
        """Blob ids of ``datas``, written by one ``git hash-object`` (one process per blob
        was a fifth of a save's git processes). Raw bytes: no filters, as ``--stdin``."""
        if len(datas) < 2:
            return [self.write_blob(d) for d in datas]
        # where fsck looks for what a killed restore or save left behind
        (self.ckpt_dir / "tmp").mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".blobs.", dir=self.ckpt_dir / "tmp"))
        try:
            names = []
            for i, data in enumerate(datas):
                (tmp / str(i)).write_bytes(data)
                names.append(os.fspath(tmp / str(i)))
            out = self.out(["hash-object", "-w", "--no-filters", "--stdin-paths"],
                           input="".join(f"{n}\n" for n in names).encode())
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        ids = out.split()
        if len(ids) != len(datas):
            raise ExternalError(f"git hash-object wrote {len(ids)} blobs of {len(datas)}")
        return ids

    def commit_files(
        self, parent: str | None, files: Mapping[str, bytes], message: str,
        sign: bool = False,
    ) -> tuple[str, dict[str, str]]:
        """A commit of ``parent``'s tree plus ``files``, built in a private index.

        The user's index and work tree are not touched, so their staged work never leaks into
        the commit. Returns the commit id and the blob id of each file.
        """
        blobs = dict(zip(files, self.write_blobs(list(files.values())), strict=True))
        self.ckpt_dir.mkdir(parents=True, exist_ok=True)
        tmp_index = self.ckpt_dir / f"index.{os.getpid()}.{id(files)}"
        env = {"GIT_INDEX_FILE": str(tmp_index)}
        try:
            self.run(["read-tree", parent] if parent else ["read-tree", "--empty"], env=env)
            self.run(["update-index", "--add", "--index-info"], input=_index_info(blobs), env=env)
            tree = self.out(["write-tree"], env=env).strip()
        finally:
            tmp_index.unlink(missing_ok=True)
        args = ["commit-tree", tree] + (["-p", parent] if parent else []) + (["-S"] if sign
                                                                            else [])
        commit = self.out([*args, "-F", "-"], input=message.encode()).strip()
        return commit, blobs

    def can_sign_ssh(self) -> bool:
        """Whether this user has an SSH signing key configured (then saves are signed)."""
        return (self.config("gpg.format") or "").lower() == "ssh" and bool(
            self.config("user.signingkey") or self.config("gpg.ssh.defaultKeyCommand"))

    def update_ref(self, ref: str, new: str, old: str | None, reason: str) -> bool:
        """Move ``ref`` from ``old`` to ``new`` atomically; False when someone moved it first."""
        old_arg = old if old else "0" * 40
        done = self.run(["update-ref", "-m", reason, ref, new, old_arg], check=False)
        return done.returncode == 0

    def append_commit(self, ref: str, message: str, attempts: int = 20) -> str:
        """A commit with an empty tree on top of ``ref`` (an append-only log of records, e.g.
        refs/ckpt/policy-log), moved by compare-and-swap; retried when another writer won."""
        empty = self.out(["mktree"], input=b"").strip()
        for _ in range(attempts):
            old = self.rev_parse(ref)
            args = ["commit-tree", empty] + (["-p", old] if old else [])
            commit = self.out([*args, "-F", "-"], input=message.encode()).strip()
            if self.update_ref(ref, commit, old, "ckpt: record"):
                return commit
        raise ExternalError(f"{ref} kept moving; the record was not written")

    def records(self, ref: str, limit: int | None = None) -> list[tuple[str, str, str]]:
        """(commit, committer date ISO 8601, message) of each record on ``ref``, newest first."""
        if self.rev_parse(ref) is None:
            return []
        extra = [f"-n{limit}"] if limit else []
        field, record = separators()
        text = self.out(["log", *extra, f"--format=%H{field}%cI{field}%B{record}", ref])
        out = []
        for chunk in text.split(record):
            parts = chunk.strip("\n").split(field)
            if len(parts) == 3:
                out.append((parts[0], parts[1], parts[2]))
        return out

    def head_ref(self) -> str:
        done = self.run(["symbolic-ref", "--quiet", "HEAD"], check=False)
        return done.stdout.decode().strip() if done.returncode == 0 else "HEAD"

    def stage_blobs(self, blobs: Mapping[str, str]) -> None:
        """Record our files in the user's index so they show as committed, not as deleted."""
        self.run(["update-index", "--add", "--index-info"], input=_index_info(blobs))


UNTRACKED_HASH_LIMIT = 1 << 20  # bytes; larger untracked files are data, not code


def _file_digest(path: Path) -> bytes:
    """What pins an untracked file: sha256 of its bytes (a link's target, not what it points
    at); for a file over ``UNTRACKED_HASH_LIMIT`` its size and mtime, so an untracked dataset
    never costs the save a second read. Nothing but a regular file is opened, so a FIFO cannot
    block."""
    import hashlib
    import stat

    try:
        st = os.lstat(path)
    except OSError:
        return b"gone"
    if stat.S_ISLNK(st.st_mode):
        return hashlib.sha256(os.fsencode(os.readlink(path))).digest()
    if not stat.S_ISREG(st.st_mode):
        return b"special"
    if st.st_size > UNTRACKED_HASH_LIMIT:
        return f"large {st.st_size} {st.st_mtime_ns}".encode()
    try:  # no follow, no block: the file may have been swapped since the lstat
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return b"unreadable"
    with os.fdopen(fd, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").digest()


def _oids(listing: str, column: int) -> dict[str, str]:
    """``ls-tree -z`` / ``ls-files -s -z`` rows: path -> the object id in ``column``."""
    out = {}
    for row in listing.split("\0"):
        if "\t" in row:
            meta, path = row.split("\t", 1)
            out[path] = meta.split()[column]
    return out


def _index_info(blobs: Mapping[str, str]) -> bytes:
    return "".join(f"100644 {sha}\t{path}\n" for path, sha in blobs.items()).encode()


def _first_line(stderr: bytes) -> str:
    text = stderr.decode("utf-8", "replace").strip()
    lines = [ln for ln in text.splitlines() if ln.strip()]
    for ln in lines:
        if ln.startswith(("fatal:", "error:")):
            return ln.split(":", 1)[1].strip()
    return lines[0] if lines else "no message"


def last_commit_touching(git: Git, rev: str, path: str) -> str | None:
    """The commit that last changed ``path`` in the history of ``rev``."""
    return git.out(["log", "-1", "--format=%H", rev, "--", path]).strip() or None


def _raw_changes(tokens: list[str]) -> dict[str, str | None]:
    """``git log --raw -z`` of one commit (``:modes old new status``, NUL, path, NUL …) as
    path -> new blob, None where the file was deleted."""
    found: dict[str, str | None] = {}
    i = 0
    while i + 1 < len(tokens):
        head = tokens[i].lstrip("\n")
        meta = head.split()
        if not head.startswith(":") or len(meta) != 5:
            i += 1
            continue
        path, new = tokens[i + 1], meta[3]
        if path:
            found[path] = None if meta[4] == "D" or not new.strip("0") else new
        i += 2
    return found
