"""One module per verb: parse arguments, call ``ckptgit.ops``, format the answer."""
