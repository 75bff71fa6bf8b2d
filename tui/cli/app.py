"""The Typer app every command registers on, the options several commands share, and ``guarded``,
which turns errors into messages and exit codes."""

from __future__ import annotations

import errno
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.text import Text
from typer.core import TyperGroup

from fmtui.core.errors import FmtuiError
from fmtui.tui.cli import exits
from fmtui.tui.cli.streams import CLOSED_ERRNOS, EXIT_CLOSED, console, discard

if TYPE_CHECKING:
    from fmtui.core.records.checkpoints import Checkpoint

# The commands in the order a person meets them, each with the line `fmtui --help` gives it (Click would
# otherwise cut each command's docstring to fit). A new command adds its line here.
COMMANDS = {
    "train": "Train one run without the monitor; --json prints its events.",
    "sweep": "Search settings with Optuna: many runs, hopeless ones pruned.",
    "runs": "List past runs: status, epochs, accuracies.",
    "compare": "Show runs side by side, with their accuracy curves.",
    "eval": "Test a run's best weights: accuracy, confusion matrix, mistakes.",
    "explain": "Why a model decides: templates, filters, maps of where it looked.",
    "predict": "Classify your own photos with a run's best weights.",
    "export": "Write a run's best weights as an ONNX model to use elsewhere.",
    "presets": "List the presets; --settings lists every setting and why.",
    "attach": "Watch and steer a run started elsewhere, in the monitor.",
    "pause": "Pause a live run at its next batch.",
    "resume": "Resume a paused live run.",
    "stop": "Stop a live run early; it still tests its best weights.",
}


class _Commands(TyperGroup):
    """Lists the commands in COMMANDS' order, with COMMANDS' lines; an argument taking several paths is
    described as ``<path>...`` (Typer writes the Python annotation, ``<list[Path]>``)."""

    def list_commands(self, ctx: typer.Context) -> list[str]:
        order = list(COMMANDS)
        return sorted(super().list_commands(ctx), key=lambda n: order.index(n) if n in order else len(order))

    def get_command(self, ctx: typer.Context, cmd_name: str):  # type: ignore[no-untyped-def]
        command = super().get_command(ctx, cmd_name)
        if command is not None and cmd_name in COMMANDS:
            command.short_help = COMMANDS[cmd_name]
        for param in getattr(command, "params", ()):
            if isinstance(param, typer.core.TyperArgument) and param.nargs == -1:
                param.display_type = lambda ctx: "<path>..."
        return command


app = typer.Typer(cls=_Commands, add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None,
                  context_settings={"help_option_names": ["-h", "--help"]},
                  help="Train FashionMNIST classifiers and watch them learn, in the terminal.")

err = console(stderr=True, soft_wrap=True)  # messages stay one greppable line


def warn_of_source(checkpoint: Checkpoint) -> None:
    """Refuse a checkpoint whose model file has moved (RecordError); warn on stderr where it has changed."""
    from fmtui.core.records.checkpoints import checked_source

    warning = checked_source(checkpoint)
    if warning:
        err.print(Text(f"warning: {warning}"))

DataDir = Annotated[Optional[Path], typer.Option(
    "--data-dir", help="Where FashionMNIST lives (or is downloaded to). Default: $FMTUI_DATA, else ~/.cache/fmtui.",
    show_default=False)]
RunsDir = Annotated[Path, typer.Option("--runs-dir", help="Where run records are written.")]
Device = Annotated[Optional[str], typer.Option("--device", help="auto, cpu, cuda or cuda:N.", show_default=False)]
Debug = Annotated[bool, typer.Option("--debug", help="Show full tracebacks.")]
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
Run = Annotated[Path, typer.Argument(help="The run directory, or a run id under --runs-dir.", show_default=False)]


def run_path(run: Path, runs_dir: Path) -> Path:
    """A run named by a person: a path as given where it exists or has a directory part, else a run id
    (as `fmtui runs` lists it) in the runs directory."""
    return run if run.exists() or run.is_absolute() or len(run.parts) > 1 else runs_dir / run


def guarded(debug: bool, action: Callable[[], int]) -> None:
    """Run ``action``; turn fmtui's own errors into a message and exit code 2, bugs into exit code 1."""
    try:
        code = action()
    except FmtuiError as exc:
        if debug:
            traceback.print_exc()
        code = _tell(Text.assemble(("error:", "red"), f" {exc}"), exits.USAGE)
    except (KeyboardInterrupt, typer.Exit, typer.Abort, SystemExit):
        raise
    except OSError as exc:
        # What the short commands print goes to a stream that may close (`fmtui runs | head -1`) or
        # fill up (`> /dev/full`); `fmtui train` handles its own outputs (fmtui.tui.cli.streams.OutputGuard).
        if exc.errno in CLOSED_ERRNOS:
            discard(sys.stdout.fileno())
            code = EXIT_CLOSED
        elif exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
            code = _tell(Text(f"error: cannot write the output: {exc.strerror}."), exits.USAGE)
        else:
            code = _internal_error(exc, debug)
    except Exception as exc:
        code = _internal_error(exc, debug)
    raise typer.Exit(code)


def _internal_error(exc: Exception, debug: bool) -> int:
    if debug:
        traceback.print_exc()
    return _tell(Text.assemble(("internal error:", "red"), f" {type(exc).__name__}: {exc}",
                               "" if debug else "\nRun again with --debug for the traceback."), exits.BUG)


def _tell(message: Text, code: int) -> int:
    """Print ``message`` on stderr, literally (it quotes paths and values people typed); return ``code``.
    A stderr that cannot take it changes nothing: the exit code still says what happened."""
    try:
        err.print(message)
    except OSError:
        discard(sys.stderr.fileno())
    return code
