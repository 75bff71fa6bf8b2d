"""`python -m fmtui.tui.cli`: the same as the `fmtui` command."""

from fmtui.tui.cli import main

main()
