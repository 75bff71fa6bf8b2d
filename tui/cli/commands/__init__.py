"""One module per `fmtui` command; each registers itself on ``fmtui.tui.cli.app.app`` when imported."""
