"""The `fmtui` command: the TUI by default, and headless subcommands for scripts.

Exit codes: 0 a run finished or was stopped, 1 an internal error, 2 bad input (a message names the
file or flag) or an environment that failed (a full disk), 3 the run diverged, 128+N a signal ended
the run (130 for Ctrl-C; 141, SIGPIPE's, when the output it was writing to closed).
"""

from __future__ import annotations

import errno
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.text import Text

from core.errors import FmtuiError
from tui.signals import exit_on_signals, leave_now
from tui.streams import CLOSED_ERRNOS, EXIT_CLOSED, console, discard, reopen_closed_streams, write_quietly

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None,
                  context_settings={"help_option_names": ["-h", "--help"]},
                  help="Train FashionMNIST classifiers and watch them learn, in the terminal.")

err = console(stderr=True, soft_wrap=True)  # messages stay one greppable line

EXIT_OK, EXIT_BUG, EXIT_USAGE, EXIT_DIVERGED = 0, 1, 2, 3

DataDir = Annotated[Optional[Path], typer.Option(
    "--data-dir", help="Where FashionMNIST lives (or is downloaded to). Default: $FMTUI_DATA, else ~/.cache/fmtui.",
    show_default=False)]
RunsDir = Annotated[Path, typer.Option("--runs-dir", help="Where run records are written.")]
Device = Annotated[Optional[str], typer.Option("--device", help="auto, cpu, cuda or cuda:N.", show_default=False)]
Debug = Annotated[bool, typer.Option("--debug", help="Show full tracebacks.")]


def guarded(debug: bool, action: Callable[[], int]) -> None:
    """Run ``action``; turn fmtui's own errors into a message and exit code 2, bugs into exit code 1."""
    try:
        code = action()
    except FmtuiError as exc:
        if debug:
            traceback.print_exc()
        code = _tell(Text.assemble(("error:", "red"), f" {exc}"), EXIT_USAGE)
    except (KeyboardInterrupt, typer.Exit, typer.Abort, SystemExit):
        raise
    except OSError as exc:
        # What the short commands print goes to a stream that may close (`fmtui runs | head -1`) or
        # fill up (`> /dev/full`); `fmtui train` handles its own outputs (tui.streams.OutputGuard).
        if exc.errno in CLOSED_ERRNOS:
            discard(sys.stdout.fileno())
            code = EXIT_CLOSED
        elif exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
            code = _tell(Text(f"error: cannot write the output: {exc.strerror}."), EXIT_USAGE)
        else:
            code = _internal_error(exc, debug)
    except Exception as exc:
        code = _internal_error(exc, debug)
    raise typer.Exit(code)


def _internal_error(exc: Exception, debug: bool) -> int:
    if debug:
        traceback.print_exc()
    return _tell(Text.assemble(("internal error:", "red"), f" {type(exc).__name__}: {exc}",
                               "" if debug else "\nRun again with --debug for the traceback."), EXIT_BUG)


def _tell(message: Text, code: int) -> int:
    """Print ``message`` on stderr, literally (it quotes paths and values people typed); return ``code``.
    A stderr that cannot take it changes nothing: the exit code still says what happened."""
    try:
        err.print(message)
    except OSError:
        discard(sys.stderr.fileno())
    return code


@app.callback(invoke_without_command=True)
def root(ctx: typer.Context,
         preset: Annotated[Optional[str], typer.Option("--preset", help="Start this preset at once.")] = None,
         data_dir: DataDir = None, runs_dir: RunsDir = Path("runs"), device: Device = None,
         debug: Debug = False) -> None:
    """With no command: open the live training monitor."""
    if ctx.invoked_subcommand is not None:
        return

    def launch() -> int:
        from tui.launch import run_tui  # late: Textual is only needed for the TUI

        return run_tui(preset=preset, data_dir=data_dir, runs_dir=runs_dir, device=device)

    guarded(debug, launch)


@app.command()
def train(
    preset: Annotated[Optional[str], typer.Option("--preset", "-p", help="Preset name or .toml file.",
                                                  show_default=False)] = None,
    epochs: Annotated[Optional[int], typer.Option(help="Override the preset's epochs.", show_default=False)] = None,
    lr: Annotated[Optional[float], typer.Option(help="Override the peak learning rate.", show_default=False)] = None,
    batch_size: Annotated[Optional[int], typer.Option(help="Override the batch size.", show_default=False)] = None,
    seed: Annotated[Optional[int], typer.Option(help="Override the seed.", show_default=False)] = None,
    device: Device = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", metavar="KEY=VALUE",
                                                      help="Override any preset setting, e.g. --set dropout=0.2.",
                                                      show_default=False)] = None,
    data_dir: DataDir = None,
    runs_dir: RunsDir = Path("runs"),
    resume: Annotated[Optional[Path], typer.Option("--resume", help="Continue an interrupted or stopped run "
                                                   "from its last complete epoch.", show_default=False)] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print one JSON object per event on stdout.")] = False,
    debug: Debug = False,
) -> None:
    """Train without the TUI: a progress bar on a terminal, a line per epoch in a log."""
    from tui.train_command import run_headless  # late: keeps `fmtui --help` fast

    overrides = {"epochs": epochs, "lr": lr, "batch_size": batch_size, "seed": seed}
    guarded(debug, lambda: run_headless(preset=preset, overrides=overrides, assignments=set_ or [],
                                        device=device, data_dir=data_dir, runs_dir=runs_dir, resume=resume,
                                        json_output=json_, debug=debug))


@app.command()
def presets(debug: Debug = False) -> None:
    """List the presets and what each is for."""
    from tui.info_commands import list_presets

    guarded(debug, list_presets)


@app.command("eval")
def eval_(
    checkpoint: Annotated[Path, typer.Argument(help="A best.pt file, or the run directory holding it.",
                                               show_default=False)],
    data_dir: DataDir = None, device: Device = None,
    json_: Annotated[bool, typer.Option("--json", help="Print the result as one JSON object.")] = False,
    debug: Debug = False,
) -> None:
    """Evaluate a checkpoint on the 10,000 test images: accuracy and confusion matrix."""
    from tui.info_commands import evaluate_checkpoint_command

    guarded(debug, lambda: evaluate_checkpoint_command(checkpoint, data_dir=data_dir, device=device,
                                                       json_output=json_))


@app.command()
def runs(runs_dir: RunsDir = Path("runs"), debug: Debug = False) -> None:
    """List past runs: started, preset, status, epochs, accuracies, duration."""
    from tui.history_commands import list_runs_command

    guarded(debug, lambda: list_runs_command(runs_dir))


@app.command()
def compare(
    run_dirs: Annotated[list[Path], typer.Argument(help="Two or more run directories.", show_default=False)],
    debug: Debug = False,
) -> None:
    """Show runs side by side, with their validation accuracy curves in one chart."""
    from tui.history_commands import compare_command

    guarded(debug, lambda: compare_command(run_dirs))


def main() -> Any:
    reopen_closed_streams()  # first: before any file is opened, so no record can take descriptor 2
    exit_on_signals()  # until a run installs its own handlers, a signal just ends the process with 128+N
    try:
        app(prog_name="fmtui")
        code: Any = 0
    except SystemExit as exc:
        code = exc.code
    if not isinstance(code, int):
        if code is not None:
            write_quietly(sys.stderr, f"{code}\n")
        code = 0 if code is None else 1
    # The record is complete and the exit code decided. The interpreter's own shutdown would reset the
    # signal handlers to their defaults (a second Ctrl-C arriving then killed the process with the
    # signal itself) and could meet a thread still inside torch; there is nothing left for it to do.
    leave_now(code)


if __name__ == "__main__":
    sys.exit(main())
