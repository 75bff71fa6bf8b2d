"""`fmtui presets`: the presets, what each trains, and what it measured on a CPU and a GPU."""

from __future__ import annotations

from fmtui.core.config.presets import all_presets, presets_dir
from fmtui.core.errors import FmtuiError
from fmtui.tui.cli.app import Debug, app, guarded
from fmtui.tui.cli.streams import console
from fmtui.tui.render import format as fmt


@app.command()
def presets(debug: Debug = False) -> None:
    """List the presets: model, parameters, epochs, measured time on a CPU and a GPU, and what each is for."""
    guarded(debug, list_presets)


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
