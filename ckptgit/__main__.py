from ckptgit.main import entry

entry()
