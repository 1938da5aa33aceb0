from __future__ import annotations

from pathlib import Path

import click

from ckptgit.commands._common import emit_json, json_option


@click.command("sign")
@click.argument("ref")
@click.option("--key", "key", required=True, metavar="KEY",
              help="Elliptic-curve private key: OpenSSH (ssh-keygen -t ecdsa) or PEM.")
@json_option
def command(ref: str, key: str, as_json: bool) -> None:
    """Sign checkpoint REF with an OpenSSF model-signing (OMS) manifest.

    The bytes are rehydrated and checked against the seal, then signed by the model-signing
    package; the signature bundle is committed as PATH.sig. Anyone can check it without
    ckptgit: 'model_signing verify key --signature PATH.sig --public_key KEY.pub PATH'.

    \b
    Examples:
      git ckpt sign clf --key ~/.ssh/id_ecdsa
      git ckpt verify clf --oms --key ~/.ssh/id_ecdsa.pub
    """
    from ckptgit.ops.sign import sign, signature_path
    from ckptgit.repo import Repo

    ckpt, commit = sign(Repo.open("."), ref, Path(key).expanduser())
    if as_json:
        emit_json({"id": ckpt.id, "name": ckpt.name, "signature": signature_path(ckpt),
                   "commit": commit})
        return
    click.echo(f"signed {ckpt.name} {ckpt.short_id}: {signature_path(ckpt)} in commit "
               f"{commit[:12]}")
