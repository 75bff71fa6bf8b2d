"""Building and running the monitor app: one factory for the CLI and the tests alike.

When the terminal goes away (SIGHUP: the SSH connection drops, the window closes) the monitor leaves
and the runs it started go on headless to the end of their records; `fmtui attach` shows them again.
Ctrl-C, q and SIGTERM end them as before. How each of these ends the process is
fmtui.tui.monitor.lifecycle's, shared with the monitor on a sweep.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from fmtui.core.config.presets import PresetInfo, all_presets, check_presets_dir, load_preset
from fmtui.core.config.settings import TrainConfig, with_overrides
from fmtui.core.errors import ConfigError
from fmtui.core.records.listing import list_runs
from fmtui.core.records.run_dir import RunRecord
from fmtui.tui.cli import exits
from fmtui.tui.cli.flags import NO_FLAGS, Flags
from fmtui.tui.cli.signals import Interrupts, leave_now
from fmtui.tui.monitor.app import MonitorApp
from fmtui.tui.monitor.lifecycle import go_on_headless, hang_up, interrupted_note, tell, tell_internal_errors
from fmtui.tui.monitor.runs import TrainerLike


def make_app(*, preset: str | None = None, flags: Flags = NO_FLAGS, data_dir: Path | None = None,
             runs_dir: Path = Path("runs"), device: str | None = None,
             trainer_factory: Callable[[TrainConfig, RunRecord | None], TrainerLike] | None = None,
             attach: Path | None = None,
             attach_trainer: Callable[[RunRecord], TrainerLike] | None = None,
             presets_dir: Path | None = None) -> MonitorApp:
    """The app, ready to run. A bad --device or settings flag raises ConfigError before any screen opens; a
    preset that cannot be used is explained inside the app, which opens on the preset menu instead. The
    settings ``flags`` apply to every run started: the command line's preset and the menu's."""
    flags.apply(with_overrides(TrainConfig(), {"device": device}))  # checked even when no preset is given
    check_presets_dir(presets_dir)
    start, problem = None, ""
    if preset:
        try:
            start = flags.apply(with_overrides(load_preset(preset, presets_dir), {"device": device}))
        except ConfigError as exc:
            problem = str(exc)

    def real_trainer(config: TrainConfig, resume: RunRecord | None = None) -> TrainerLike:
        # Late: torch takes a moment to import, the first screen need not wait.
        from fmtui.core.engine.trainer import Trainer
        from fmtui.core.live.serve import serve

        # Served: `fmtui attach` follows the run from elsewhere, and once the terminal is gone (SIGHUP).
        return serve(Trainer(config, data_dir=data_dir, runs_dir=runs_dir, resume=resume))

    def presets() -> list[PresetInfo]:  # as the menu offers them: with the flags applied
        return [with_flags(info, flags) for info in all_presets(device, presets_dir)]

    return MonitorApp(new_trainer=trainer_factory or real_trainer, presets=presets,
                      # The monitor makes its runs directory with its first run: none yet is no error here.
                      past_runs=lambda: list_runs(runs_dir) if Path(runs_dir).is_dir() else [],
                      runs_dir=str(runs_dir), device=device,
                      start=start, problem=problem, attach=RunRecord(attach) if attach is not None else None,
                      attach_trainer=attach_trainer)


def with_flags(info: PresetInfo, flags: Flags) -> PresetInfo:
    """A preset as the menu offers it, with the command line's settings flags applied (or why it cannot
    take them)."""
    if info.config is None:
        return info
    try:
        return replace(info, config=flags.apply(info.config))
    except ConfigError as exc:
        return replace(info, config=None, problem=str(exc))


def run_tui(*, preset: str | None = None, flags: Flags = NO_FLAGS, data_dir: Path | None = None,
            runs_dir: Path = Path("runs"), device: str | None = None, attach: Path | None = None,
            presets_dir: Path | None = None) -> int:
    """Run the monitor until the person quits; the exit code for the CLI."""
    app = make_app(preset=preset, flags=flags, data_dir=data_dir, runs_dir=runs_dir, device=device, attach=attach,
                   presets_dir=presets_dir)
    from fmtui.tui.monitor.graphics import graphics_widget
    from fmtui.tui.monitor.widgets.examples import ExamplesView

    ExamplesView.graphics = graphics_widget(os.environ)  # asks the terminal: before Textual takes it over
    closed = False  # the app has exited (Ctrl-C typed in it, say): a signal now can only hurry the runs
    hung_up = False  # the terminal went away: the runs go on without the monitor
    app_done = threading.Event()

    def stop(signum: int) -> None:
        nonlocal hung_up
        if signum == getattr(signal, "SIGHUP", None) and not closed:
            hung_up = True
            hang_up(app, app_done)
            return
        # We were told to end (SIGTERM, kill -INT): no one is left to ask, so leave at once;
        # finish_runs then ends the run as interrupted, with its record written.
        app.exit(return_code=exits.after_signal(signum))
        if closed and app.hurry_runs():
            leave_now(exits.after_signal(signum))

    def hurry() -> bool:
        # The process may leave at once only once the app has given the terminal back.
        nothing_recording = app.hurry_runs()
        return closed and nothing_recording

    # SIGINT too: Ctrl-C typed in the app arrives as a key (see MonitorApp), but `kill -INT` from
    # elsewhere arrives as a signal and must end the run the same way; once the app has closed the
    # terminal is back to normal and a Ctrl-C is a signal again.
    with Interrupts(stop=stop, hurry=hurry) as interrupts:
        try:
            app.run()
        except OSError:
            if not hung_up:
                raise
            # Restoring a terminal that is gone fails; there is nothing left to restore.
        finally:
            closed = True
            app_done.set()
            interrupted = [] if hung_up else app.finish_runs()
    if hung_up:
        return go_on_headless(app)
    for run_dir in interrupted:
        tell(interrupted_note(Path(run_dir)))
    tell_internal_errors(app)
    if app.internal_errors:
        return exits.BUG
    return app.return_code or interrupts.code or 0

