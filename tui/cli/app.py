"""The Typer app every command registers on, the options several commands share, and ``guarded``,
which turns errors into messages and exit codes."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from core.errors import FmtuiError
from tui import exits

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None,
                  context_settings={"help_option_names": ["-h", "--help"]},
                  help="Train FashionMNIST classifiers and watch them learn, in the terminal.")

err = Console(stderr=True, highlight=False, soft_wrap=True)  # messages stay one greppable line

DataDir = Annotated[Optional[Path], typer.Option(
    "--data-dir", help="Where FashionMNIST lives (or is downloaded to). Default: $FMTUI_DATA, else ~/.cache/fmtui.",
    show_default=False)]
RunsDir = Annotated[Path, typer.Option("--runs-dir", help="Where run records are written.")]
Device = Annotated[Optional[str], typer.Option("--device", help="auto, cpu, cuda or cuda:N.", show_default=False)]
Debug = Annotated[bool, typer.Option("--debug", help="Show full tracebacks.")]
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


def guarded(debug: bool, action: Callable[[], int]) -> None:
    """Run ``action``; turn fmtui's own errors into a message and exit code 2, bugs into exit code 1."""
    try:
        code = action()
    except FmtuiError as exc:
        if debug:
            traceback.print_exc()
        err.print(f"[red]error:[/red] {exc}", markup=True)
        code = exits.USAGE
    except (KeyboardInterrupt, typer.Exit, typer.Abort, SystemExit):
        raise
    except Exception as exc:
        if debug:
            traceback.print_exc()
        err.print(f"[red]internal error:[/red] {type(exc).__name__}: {exc}", markup=True)
        if not debug:
            err.print("Run again with --debug for the traceback.")
        code = exits.BUG
    raise typer.Exit(code)
