"""The one-pass hash and copy (``hashing.stream``): the copy is the bytes hashed, whatever the
size's alignment to the chunk, the 4 KiB block and the ring of buffers."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from ckptgit import hashing
from ckptgit.errors import IntegrityError

C = hashing.CHUNK
# around every boundary of the read loop: the chunk, the 4 KiB block, the ring of buffers
SIZES = [C, C + 1, 2 * C - 1, 3 * C + 4097, 5 * C + 4096, 9 * C + 123]


def _random(path: Path, size: int) -> bytes:
    data = os.urandom(size)
    path.write_bytes(data)
    return data


@pytest.mark.parametrize("size", SIZES)
def test_copy_is_exactly_the_bytes_hashed(tmp_path: Path, size: int) -> None:
    data = _random(tmp_path / "src", size)
    got = hashing.stream(tmp_path / "src", tmp_path / "dst")
    assert (tmp_path / "dst").read_bytes() == data  # no padded tail left behind
    assert got.size == size
    assert got.md5 == hashlib.md5(data, usedforsecurity=False).hexdigest()
    assert got.sha256 == hashlib.sha256(data).hexdigest()


def test_a_file_rewritten_while_it_is_read_fails(tmp_path: Path) -> None:
    src = tmp_path / "src"
    _random(src, 6 * C)
    seen = []

    def rewrite(n: int) -> None:  # the training loop writes the next epoch mid-save
        if not seen:
            with open(src, "r+b") as fh:
                fh.seek(5 * C)
                fh.write(b"\0" * 4096)
        seen.append(n)

    with pytest.raises(IntegrityError, match="changed while it was being read"):
        hashing.stream(src, tmp_path / "dst", progress=rewrite)
