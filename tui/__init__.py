"""fmtui's two faces over ``fmtui.core``.

- ``fmtui.tui.cli``: the command line (the Typer app, one module per command, the headless displays,
  signals, exit codes, output streams). It never imports Textual: scripts and `fmtui train` start
  without it.
- ``fmtui.tui.monitor``: the Textual monitor (the app, its views, widgets and dialogs).
- ``fmtui.tui.render``: what both draw with (formats, pictures, the confusion table); no Textual.
"""
