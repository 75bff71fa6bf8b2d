"""The command line: each command, bad input, signals and outputs that go away."""
