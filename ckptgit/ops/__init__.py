"""The work behind each command, free of any CLI: callable from Python, tested directly."""
