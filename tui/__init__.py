"""fmtui's two faces over ``core``.

- ``tui.cli``: the command line (the Typer app, one module per command, the headless displays). It
  never imports Textual: scripts and `fmtui train` start without it.
- ``tui.monitor``: the Textual monitor (the app, its views, widgets and dialogs).

The modules beside them (``format``, ``confusion_table``, ``signals``, ``exits``) serve both faces
and never import Textual either.
"""
