"""The ONE reader of ssh-keygen's ALLOWED SIGNERS files (``.ckpt/allowed_signers``).

A line is ``PRINCIPALS [OPTIONS] KEYTYPE BASE64 [COMMENT]``, as ``ssh-keygen -Y verify`` reads it:

- PRINCIPALS: a comma-separated pattern list (``*`` and ``?`` wildcards, ``!`` negates: a
  principal matching a negated pattern is refused whatever else matches), optionally in double
  quotes;
- OPTIONS: comma-separated ``cert-authority``, ``namespaces="git,file"``,
  ``valid-after="YYYYMMDD[HHMM[SS]][Z]"`` and ``valid-before=…``; any other option makes
  ssh-keygen reject the line, and so do we.

``#`` comments and blank lines are skipped. A line that does not parse is kept as an
``Invalid`` entry (with its reason) rather than silently dropped, so callers can say which line
is wrong. Verdicts about signatures stay with ``ssh-keygen`` (through ``git verify-tag``); this
module only reads the file, matches principals, and writes narrowed copies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

KEY_TYPES = (
    "ssh-ed25519", "ssh-rsa", "ssh-dss", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com",
)
OPTIONS = ("cert-authority", "namespaces", "valid-after", "valid-before")
_TIME = re.compile(r"^\d{8}(\d{4}(\d{2})?)?Z?$")
_BASE64 = re.compile(r"^[A-Za-z0-9+/]+={0,2}$")


@dataclass(frozen=True)
class Signer:
    """One trusted key and who may sign with it."""

    line: int  # 1-based line number in the file
    principals: tuple[str, ...]  # patterns as written, "!" negations included
    key_type: str
    key_data: str  # base64
    comment: str = ""
    cert_authority: bool = False
    namespaces: tuple[str, ...] | None = None  # None: every namespace
    valid_after: str | None = None
    valid_before: str | None = None

    @property
    def key(self) -> str:
        """``KEYTYPE BASE64``: how a public key is compared."""
        return f"{self.key_type} {self.key_data}"

    def grants(self, principal: str) -> bool:
        """ssh's pattern-list match: a negated pattern that matches refuses outright."""
        return match_pattern_list(principal, self.principals)

    def literal_principals(self) -> list[str]:
        """The principals named outright (no wildcard, no negation)."""
        return [p for p in self.principals if not any(c in p for c in "*?!")]

    def allows_namespace(self, namespace: str) -> bool:
        return self.namespaces is None or match_pattern_list(namespace, self.namespaces)

    def render(self, principals: tuple[str, ...] | None = None) -> str:
        """The line again (with ``principals`` instead of its own), options kept."""
        opts = ["cert-authority"] if self.cert_authority else []
        if self.namespaces is not None:
            opts.append(f'namespaces="{",".join(self.namespaces)}"')
        for name, value in (("valid-after", self.valid_after),
                            ("valid-before", self.valid_before)):
            if value is not None:
                opts.append(f'{name}="{value}"')
        fields = ['"' + ",".join(principals or self.principals) + '"']
        if opts:
            fields.append(",".join(opts))
        fields.append(self.key)
        return " ".join(fields)


@dataclass(frozen=True)
class Invalid:
    """A line ssh-keygen would refuse, and why."""

    line: int
    reason: str


def parse(text: str) -> list[Signer | Invalid]:
    """Every non-comment line of ``text``, in order."""
    out: list[Signer | Invalid] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            out.append(_line(number, stripped))
        except ValueError as exc:
            out.append(Invalid(number, str(exc)))
    return out


def signers(text: str) -> list[Signer]:
    """The lines that parse; see ``parse`` for the ones that do not."""
    return [s for s in parse(text) if isinstance(s, Signer)]


def narrowed(text: str, principals: tuple[str, ...] | list[str]) -> str:
    """An allowed-signers file granting only ``principals``: each line that grants one of them,
    restricted to those it grants. No principals: the file as it is (the stage accepts anyone
    the repository trusts)."""
    if not principals:
        return text
    lines = []
    for s in signers(text):
        granted = tuple(p for p in principals if s.grants(p))
        if granted:
            lines.append(s.render(granted) + "\n")
    return "".join(lines)


def public_keys(text: str) -> list[str]:
    """``KEYTYPE BASE64`` of every key written anywhere on a line (a revoked-keys file holds
    bare public keys; an allowed-signers line works too)."""
    found = []
    for raw in text.splitlines():
        tokens = raw.split()
        if not tokens or tokens[0].startswith("#"):
            continue
        for i, tok in enumerate(tokens[:-1]):
            if tok in KEY_TYPES and _BASE64.match(tokens[i + 1]):
                found.append(f"{tok} {tokens[i + 1]}")
                break
    return found


def match_pattern_list(value: str, patterns: tuple[str, ...]) -> bool:
    """OpenSSH's ``match_pattern_list``: a match of a ``!pattern`` is a refusal; else any
    positive match is a grant. ``*`` is any run of characters, ``?`` one; case matters."""
    granted = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        if _match(value, pattern[1:] if negated else pattern):
            if negated:
                return False
            granted = True
    return granted


def _match(value: str, pattern: str) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.DOTALL) is not None


# -- one line ----------------------------------------------------------------------------------
def _line(number: int, text: str) -> Signer:
    principals, rest = _principals(text)
    if not rest:
        raise ValueError("missing key")
    options: dict[str, str | None] = {}
    first = rest.split(None, 1)[0] if rest else ""
    if first not in KEY_TYPES:
        options, rest = _options(rest)
    fields = rest.split(None, 2)
    if len(fields) < 2:
        raise ValueError("missing key")
    key_type, key_data = fields[0], fields[1]
    if key_type not in KEY_TYPES:
        raise ValueError(f"unknown key type {key_type!r}")
    if not _BASE64.match(key_data):
        raise ValueError("the key is not base64")
    namespaces = options.get("namespaces")
    return Signer(number, principals, key_type, key_data,
                  comment=fields[2] if len(fields) > 2 else "",
                  cert_authority="cert-authority" in options,
                  namespaces=tuple(namespaces.split(",")) if namespaces is not None else None,
                  valid_after=options.get("valid-after"),
                  valid_before=options.get("valid-before"))


def _principals(text: str) -> tuple[tuple[str, ...], str]:
    if text.startswith('"'):
        end = text.find('"', 1)
        if end < 0:
            raise ValueError("unterminated quote in the principals")
        field, rest = text[1:end], text[end + 1:]
        if rest and not rest[0].isspace():
            raise ValueError("text right after the quoted principals")
    else:
        field, _, rest = text.partition(" ") if " " in text else text.partition("\t")
    patterns = tuple(p.strip() for p in field.split(","))
    if not field.strip() or any(not p or p == "!" for p in patterns):
        raise ValueError("empty principal")
    return patterns, rest.strip()


def _options(text: str) -> tuple[dict[str, str | None], str]:
    """``name[="value"],…`` up to the first unquoted blank; values may hold commas/blanks."""
    options: dict[str, str | None] = {}
    i, n = 0, len(text)
    while True:
        m = re.match(r"[A-Za-z-]+", text[i:])
        if not m:
            raise ValueError(f"bad option at {text[i:i + 20]!r}")
        name = m.group(0).lower()
        i += m.end()
        value: str | None = None
        if i < n and text[i] == "=":
            if i + 1 >= n or text[i + 1] != '"':
                raise ValueError(f"option {name} needs a quoted value")
            end = text.find('"', i + 2)
            if end < 0:
                raise ValueError(f"unterminated quote in option {name}")
            value, i = text[i + 2:end], end + 1
        _check_option(name, value, options)
        options[name] = value
        if i < n and text[i] == ",":
            i += 1
            continue
        if i < n and not text[i].isspace():
            raise ValueError(f"bad option at {text[i:i + 20]!r}")
        return options, text[i:].strip()


def _check_option(name: str, value: str | None, seen: dict[str, str | None]) -> None:
    if name not in OPTIONS:
        raise ValueError(f"unsupported option {name!r}")
    if name in seen:
        raise ValueError(f"option {name} given twice")
    if name == "cert-authority":
        if value is not None:
            raise ValueError("cert-authority takes no value")
        return
    if value is None:
        raise ValueError(f"option {name} needs a value")
    if name == "namespaces" and any(not ns.strip() for ns in value.split(",")):
        raise ValueError("empty namespace")
    if name in ("valid-after", "valid-before") and not _TIME.match(value):
        raise ValueError(f"{name} is not a time (YYYYMMDD[HHMM[SS]][Z])")
