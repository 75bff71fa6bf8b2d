"""`fmtui train`: one run without the monitor, stopped cleanly by Ctrl-C, SIGTERM or SIGHUP (a second
one hurries it), or by its output going away."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from fmtui.core.config.presets import load_preset
from fmtui.core.config.settings import TrainConfig, with_overrides
from fmtui.core.engine.events import RunFailed
from fmtui.core.errors import ConfigError, FmtuiError
from fmtui.core.records.run_dir import RunRecord
from fmtui.core.records.status import RunStatus
from fmtui.tui.cli import exits
from fmtui.tui.cli.app import DataDir, Debug, Device, RunsDir, app, guarded, run_path
from fmtui.tui.cli.flags import Assignments, BatchSize, Epochs, Flags, Lr, Model, Seed
from fmtui.tui.cli.signals import Interrupts
from fmtui.tui.cli.streams import CLOSED_ERRNOS, EXIT_CLOSED, OutputGuard, console, write_quietly


@app.command()
def train(
    preset: Annotated[Optional[str], typer.Option("--preset", "-p", help="Preset name or .toml file.",
                                                  show_default=False)] = None,
    model: Model = None, epochs: Epochs = None, lr: Lr = None, batch_size: BatchSize = None, seed: Seed = None,
    device: Device = None, set_: Assignments = None,
    data_dir: DataDir = None,
    runs_dir: RunsDir = Path("runs"),
    resume: Annotated[Optional[Path], typer.Option("--resume", metavar="RUN", help="Continue an interrupted or "
                                                   "stopped run (its directory or id) from its last complete epoch.",
                                                   show_default=False)] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print one JSON object per event on stdout.")] = False,
    detach: Annotated[bool, typer.Option("--detach", help="Train in the background, past logout: print the run "
                                         "directory and how to attach, and return.")] = False,
    announce: Annotated[Optional[Path], typer.Option("--announce", hidden=True)] = None,
    debug: Debug = False,
) -> None:
    """Train without the monitor: a progress bar on a terminal, a line per epoch in a log."""
    if detach:
        from fmtui.tui.cli.detach import start_detached

        guarded(debug, lambda: start_detached([a for a in sys.argv[1:] if a != "--detach"], runs_dir))
        return
    flags = Flags({"model": model, "epochs": epochs, "lr": lr, "batch_size": batch_size, "seed": seed},
                  tuple(set_ or ()))
    guarded(debug, lambda: run_headless(preset=preset, flags=flags, device=device, data_dir=data_dir,
                                        runs_dir=runs_dir, resume=resume, json_output=json_, debug=debug,
                                        announce=announce))


def resolve_config(preset: str | None, flags: Flags, device: str | None,
                   resume: Path | None) -> tuple[TrainConfig, RunRecord | None]:
    if resume is not None:
        changed = flags.given + ["--preset"] * bool(preset)
        if changed:
            raise ConfigError(f"{', '.join(changed)} cannot be combined with --resume: a resumed run keeps its "
                              f"configuration (only --device, --data-dir and --json apply).")
        record = RunRecord(resume)
        if not record.path.is_dir():
            raise ConfigError(f"--resume {resume}: no such run directory.")
        from fmtui.core.engine.trainer import resume_config  # late: torch loads with it

        return resume_config(record, device), record
    if preset is None:
        raise ConfigError("--preset is required: name a preset (`fmtui presets` lists them) or a .toml file, "
                          "or continue a run with --resume RUN_DIR.")
    return flags.apply(with_overrides(load_preset(preset), {"device": device})), None


def run_headless(*, preset: str | None, flags: Flags, device: str | None,
                 data_dir: Path | None, runs_dir: Path, resume: Path | None, json_output: bool,
                 debug: bool = False, announce: Path | None = None) -> int:
    # Late: torch loads with these, and `fmtui --help` need not wait for it.
    from fmtui.core.engine.trainer import Trainer
    from fmtui.core.live.serve import serve
    from fmtui.core.records.listing import data_dir_for
    from fmtui.tui.cli.headless import JsonLines, PlainLog, ProgressBars

    config, record = resolve_config(preset, flags, device,
                                    run_path(resume, runs_dir) if resume is not None else None)
    if record is not None:  # the images it trained on, unless --data-dir names others
        data_dir = data_dir_for(record.path, data_dir)
    # Served, detached or not: `fmtui attach`, `fmtui pause` and `fmtui stop` reach it from elsewhere.
    trainer = serve(Trainer(config, data_dir=data_dir, runs_dir=runs_dir, resume=record))
    causes: list[int] = []  # why the run was interrupted, first first: signals, or SIGPIPE for a closed output

    def output_lost(error: OSError, name: str) -> None:
        if error.errno in CLOSED_ERRNOS:
            causes.append(EXIT_CLOSED - 128)
            log.lost_output = log.lost_output or name.capitalize()  # the log says why, not "press Ctrl-C again"
            trainer.stop(RunStatus.INTERRUPTED)
        else:  # full, or too large: said in the exit message and the record (exit 2), resumable
            trainer.fail(FmtuiError(f"cannot write to {name}: {error.strerror or error}; the run was stopped "
                                    f"with its last complete epoch saved."))

    if json_output:
        trainer.subscribe(OutputGuard(JsonLines(sys.stdout), sys.stdout, "standard output", output_lost))
    log = ProgressBars(console(stderr=True)) if sys.stderr.isatty() else PlainLog(sys.stderr)
    trainer.subscribe(OutputGuard(log, sys.stderr, "standard error", output_lost))
    if announce is not None:  # `fmtui train --detach` waits for this to tell where the run went
        from fmtui.tui.cli.detach import announcer

        trainer.subscribe(announcer(announce))
    failure: list[RunFailed] = []
    trainer.subscribe(lambda e: failure.append(e) if isinstance(e, RunFailed) else None)

    def stop(signum: int) -> None:
        causes.append(signum)
        trainer.stop(RunStatus.INTERRUPTED)

    with Interrupts(stop=stop, hurry=trainer.hurry):
        trainer.start()
        outcome = None
        while outcome is None:  # join in slices so the main thread keeps receiving signals
            outcome = trainer.wait(timeout=0.2)
    for problem in trainer.bus.errors:
        write_quietly(sys.stderr, f"warning: a display failed:\n{problem}\n")
    if failure:
        event = failure[0]
        if event.user_error:
            resumable = event.run_dir and RunRecord(Path(event.run_dir)).state_path.exists()
            raise FmtuiError(event.error + (f"\ncontinue it with: fmtui train --resume {event.run_dir}"
                                            if resumable else ""))
        if debug:
            write_quietly(sys.stderr, event.traceback)
        write_quietly(sys.stderr, f"internal error: {event.error}\n"
                                  + ("" if debug else "Run again with --debug for the traceback.\n"))
        return exits.BUG
    if outcome.status in exits.SIGNALLED:
        return exits.after_signal(causes[0] if causes else signal.SIGINT)
    return exits.BY_STATUS[outcome.status]
