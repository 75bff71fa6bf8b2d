"""`fmtui presets`: the presets, what each trains, and what it measured on a CPU and a GPU; with
``--settings``, every setting a preset (or ``--set``) may give, its default and why it exists."""

from __future__ import annotations

from typing import Annotated

import typer

from fmtui.core.config.presets import all_presets, presets_dir
from fmtui.core.config.settings import describe_settings
from fmtui.core.errors import FmtuiError
from fmtui.tui.cli.app import Debug, app, guarded
from fmtui.tui.cli.streams import console
from fmtui.tui.render import format as fmt


@app.command()
def presets(settings: Annotated[bool, typer.Option("--settings", help="List every setting a preset may "
                                                  "give, with its default and why it exists.")] = False,
            debug: Debug = False) -> None:
    """List the presets: model, parameters, epochs, measured time on a CPU and a GPU, and what each is for."""
    guarded(debug, list_settings if settings else list_presets)


def list_settings() -> int:
    from rich.table import Table
    from rich.text import Text

    table = Table("setting", "default", "why", box=None, show_edge=False, pad_edge=False)
    for name, default, why in describe_settings():
        shown = "" if default is None else str(default).lower() if isinstance(default, bool) else str(default)
        table.add_row(Text(name), Text(shown), Text(why))
    out = console()
    out.print("Settings a preset file may give (or `--set KEY=VALUE` on the command line):\n")
    out.print(table)
    return 0


def list_presets() -> int:
    out = console()  # preset names, descriptions and paths are printed as they are, never read as markup
    out.print(f"Presets in {presets_dir()}:\n")
    problems = []
    for info in all_presets():
        out.print(fmt.preset_text(info), end="\n\n")
        if info.config is None:
            problems.append(info.problem)
    if problems:
        raise FmtuiError("some preset files cannot be used:\n" + "\n".join(problems))
    return 0
