"""One module per `fmtui` command; each registers itself on ``tui.cli.app.app`` when imported."""
