"""The exact-form pointer reader agrees with the YAML loader on every name, hostile ones too."""

from __future__ import annotations

import pytest

from ckptgit import storage
from ckptgit.errors import IntegrityError

MD5 = "d41d8cd98f00b204e9800998ecf8427e"
NAMES = ["clf.safetensors", "llm", "model-1.pt", "123", "1.5", "1e5", "null", "true", "yes",
         "~", ".inf", "0x1f", "1_000", "2026-01-01", "a: b", "x y", "'q'", "-", "#c", "a#b"]


@pytest.mark.parametrize("name", NAMES)
def test_fast_path_reads_what_yaml_reads(name: str) -> None:
    for extra in ("", "  nfiles: 3\n"):
        md5 = MD5 + (".dir" if extra else "")
        text = f"outs:\n- md5: {md5}\n  size: 12\n{extra}  hash: md5\n  path: {name}\n".encode()
        try:
            expected = storage._parse_pointer_yaml(text)
        except IntegrityError:
            with pytest.raises(IntegrityError):
                storage.parse_pointer(text)
            continue
        assert storage.parse_pointer(text) == expected


def test_anything_else_goes_to_the_loader() -> None:
    text = f"outs:\n- md5: {MD5}\n  size: 12\n  hash: md5\n  path: m.pt\n  cache: true\n"
    assert storage.parse_pointer(text).path == "m.pt"
