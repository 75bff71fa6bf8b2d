"""`fmtui presets`: the presets, what each trains, and what it measured on a CPU and a GPU."""

from __future__ import annotations

from core.config import all_presets, presets_dir
from core.errors import FmtuiError
from tui import format as fmt
from tui.cli.app import Debug, app, guarded
from tui.streams import console


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
