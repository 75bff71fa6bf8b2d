"""`fmtui sweep`: search settings with Optuna, on one machine or many, watched live in the monitor.

This module reads the flags, picks the display (the monitor, lines on stderr, or JSON) and turns the
outcome into output and an exit code; the sweep itself (its study, its trials, the best preset, how it
ended) is fmtui.core.sweep.session's. Optuna (and torch) are imported inside the command: `fmtui --help`
and the other commands never wait for them.
"""

from __future__ import annotations

import re
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from fmtui.core.config.presets import load_preset
from fmtui.core.config.settings import TrainConfig, parse_assignment, with_assignments, with_overrides
from fmtui.core.errors import ConfigError, FmtuiError
from fmtui.tui.cli import exits
from fmtui.tui.cli.app import DataDir, Debug, Device, RunsDir, app, err, guarded
from fmtui.tui.cli.signals import Interrupts

if TYPE_CHECKING:
    from fmtui.core.sweep.session import SweepSession
    from fmtui.core.sweep.space import Plan

STUDY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")  # it names a file too: <study>-best.toml
DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s?)?")
WATCH_SECONDS = 2.0  # how often --watch without the monitor reads the study


@app.command()
def sweep(
    preset: Annotated[Optional[str], typer.Argument(
        metavar="PRESET", help="Preset name or .toml file whose settings every trial starts from.",
        show_default=False)] = None,
    trials: Annotated[int, typer.Option("--trials", "-n", min=1, help="Trials to finish (complete or pruned), "
                                        "counted across every worker of the study.")] = 20,
    param: Annotated[Optional[list[str]], typer.Option(
        "--param", metavar="NAME=RANGE", show_default=False,
        help="A setting to search: lr=log:1e-4:1e-2, dropout=0.1:0.5, width=int:32:96 (first stage's channels, "
             "doubling per stage), batch_size=64:256:64, model=tinyvgg,resnet. Repeat for each.")] = None,
    set_: Annotated[Optional[list[str]], typer.Option(
        "--set", metavar="KEY=VALUE", show_default=False,
        help="Fix a setting for every trial, e.g. --set epochs=3.")] = None,
    study: Annotated[Optional[str], typer.Option("--study", help="Study name; every worker of one sweep gives the "
                                                 "same. Default: PRESET-sweep.", show_default=False)] = None,
    storage: Annotated[Optional[str], typer.Option(
        "--storage", show_default=False,
        help="Where the study lives: a database URL (postgresql://..., mysql+pymysql://..., sqlite:///FILE) or "
             "a journal file on a shared filesystem. Default: sweeps.db (SQLite) in the runs directory.")] = None,
    timeout: Annotated[Optional[str], typer.Option("--timeout", metavar="DURATION", show_default=False,
                                                   help="Start no new trial after this long: 90s, 30m, 2h, 1h30m.")]
    = None,
    pruner: Annotated[str, typer.Option("--pruner", help="median (default: stop a trial whose validation accuracy "
                                        "is below the median of earlier trials at the same epoch), halving "
                                        "(successive halving) or none.")] = "median",
    watch: Annotated[bool, typer.Option("--watch", help="Follow a study that runs elsewhere; run no trials.")]
    = False,
    device: Device = None,
    data_dir: DataDir = None,
    runs_dir: RunsDir = Path("runs"),
    json_: Annotated[bool, typer.Option("--json", help="One JSON object per finished trial on stdout, then the "
                                        "leaderboard; no monitor.")] = False,
    debug: Debug = False,
) -> None:
    """Search settings with Optuna: many runs, hopeless ones pruned, a leaderboard and the best as a preset."""
    guarded(debug, lambda: sweep_command(
        preset=preset, trials=trials, params=param or [], assignments=set_ or [], study=study, storage=storage,
        timeout=timeout, pruner=pruner, watch=watch, device=device, data_dir=data_dir, runs_dir=runs_dir,
        json_output=json_))


def parse_duration(text: str | None) -> float | None:
    if text is None:
        return None
    match = DURATION.fullmatch(text.strip())
    if not text.strip() or match is None or not any(match.groups()):
        raise ConfigError(f"--timeout {text!r}: expected a duration such as 90s, 30m, 2h or 1h30m.")
    hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    total = hours * 3600 + minutes * 60 + seconds
    if total <= 0:
        raise ConfigError(f"--timeout {text!r}: must be longer than 0.")
    return total


def study_name(study: str | None, preset: str | None) -> str:
    name = study if study is not None else f"{Path(preset).stem}-sweep" if preset else None
    if name is None:
        raise ConfigError("--study is required with --watch (or give the PRESET whose default study to follow).")
    if not STUDY_NAME.fullmatch(name):
        raise ConfigError(f"--study {name!r}: use letters, digits, '.', '_' and '-' (it names the best-settings "
                          f"file too), starting with a letter or digit.")
    return name


def base_config(preset: str | None, assignments: list[str], params: list[str]) -> TrainConfig:
    if preset is None:
        raise ConfigError("PRESET is required: name the preset every trial starts from (`fmtui presets` lists "
                          "them) or a .toml file, e.g. fmtui sweep tinyvgg --param lr=log:1e-4:1e-2.")
    config = with_assignments(load_preset(preset), assignments)
    fixed = {parse_assignment(text)[0] for text in assignments}
    for text in params:
        name = text.partition("=")[0].strip()
        if name in fixed:
            raise ConfigError(f"--param {name}: also fixed with --set {name}; search it or fix it, not both.")
    return config


def sweep_command(*, preset: str | None, trials: int, params: list[str], assignments: list[str], study: str | None,
                  storage: str | None, timeout: str | None, pruner: str, watch: bool, device: str | None,
                  data_dir: Path | None, runs_dir: Path, json_output: bool) -> int:
    name = study_name(study, preset)
    monitor = not json_output and sys.stdout.isatty()
    if watch:
        if params or assignments:
            raise ConfigError("--watch follows a study as it is: --param and --set belong to the workers' command.")
        return watch_command(name, storage, runs_dir, monitor, json_output)
    base = base_config(preset, assignments, params)
    with_overrides(base, {"device": device})  # a bad --device is named before anything is written
    from fmtui.core.sweep.session import make_plan  # late: imports optuna

    plan = make_plan(name, base, params, trials, device=device, pruner=pruner, timeout=parse_duration(timeout))
    return run_sweep(plan, storage, data_dir, runs_dir, monitor, json_output)


def run_sweep(plan: Plan, storage: str | None, data_dir: Path | None, runs_dir: Path, monitor: bool,
              json_output: bool) -> int:
    """Run this worker's part of the sweep, shown in the monitor or on the standard streams, then its summary."""
    from fmtui.core.sweep.runner import SweepInterrupted, TrialFailed
    from fmtui.core.sweep.session import SweepSession
    from fmtui.tui.cli.sweep_output import TrialReport, print_summary, trial_display

    _quiet_optuna(monitor)
    report = None if monitor else TrialReport(plan.study, sys.stdout if json_output else None)
    session = SweepSession(plan, storage, data_dir=data_dir, runs_dir=runs_dir, on_trial_end=report)
    if monitor:
        from fmtui.tui.monitor.sweep import run_sweep_tui  # late: Textual is only needed for the monitor

        code, error = run_sweep_tui(session=session, read=session.read, study=plan.study, runs_dir=runs_dir)
    else:
        session.sweep.on_trial = trial_display(plan)
        code, error = _run_with_signals(session)
        if isinstance(error, SweepInterrupted) and code == exits.OK:
            code = exits.after_signal(signal.SIGINT)
    outcome = session.finish(error, signalled=code >= 128)
    print_summary(outcome.snapshot, preset=outcome.best_preset, status=outcome.status, storage=outcome.storage,
                  json_out=json_output, seconds=outcome.seconds)
    if isinstance(error, TrialFailed):
        if error.user_error:
            raise FmtuiError(f"a trial failed: {error}")
        err.print(f"internal error in a trial: {error}", markup=False)
        return exits.BUG
    if error is not None and not isinstance(error, SweepInterrupted):
        raise error
    return code


def _quiet_optuna(monitor: bool) -> None:
    import optuna

    # Our own lines say what became of each trial (Optuna would also print a traceback for an interrupted one).
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    if monitor:
        optuna.logging.disable_default_handler()  # the monitor owns the terminal


def _run_with_signals(session: SweepSession) -> tuple[int, BaseException | None]:
    """Run the sweep on this thread; the first Ctrl-C (or SIGTERM, SIGHUP) interrupts the current trial,
    which the study records as failed, and the same command continues the sweep later."""
    from fmtui.core.sweep.runner import SweepInterrupted, TrialFailed

    def stop(signum: int) -> None:
        print("interrupted: ending the current trial (press Ctrl-C again to give up its epoch in progress)",
              file=sys.stderr, flush=True)
        session.sweep.interrupt()

    def hurry() -> bool:  # the trial still ends through Optuna, which records it as failed
        session.sweep.hurry()
        return False

    with Interrupts(stop=stop, hurry=hurry) as interrupts:
        try:
            session.run()
            error: BaseException | None = None
        except SweepInterrupted:
            error = SweepInterrupted()
        except TrialFailed as exc:
            error = exc
    code = interrupts.code or exits.OK
    return code, error


def watch_command(name: str, storage: str | None, runs_dir: Path, monitor: bool, json_output: bool) -> int:
    """Follow a study that workers elsewhere fill: the monitor's sweep view, or a line per finished trial."""
    from fmtui.core.sweep.session import SweepStatus, WatchedStudy
    from fmtui.tui.cli.sweep_output import TrialReport, print_summary

    _quiet_optuna(monitor=False)
    watched = WatchedStudy(name, storage, runs_dir)
    if monitor:
        from fmtui.tui.monitor.sweep import run_sweep_tui

        code, _ = run_sweep_tui(session=None, read=watched.read, study=name, runs_dir=runs_dir)
        return code
    try:
        snap = watched.follow(TrialReport(name, sys.stdout if json_output else None), every=WATCH_SECONDS)
    except KeyboardInterrupt:
        return exits.after_signal(signal.SIGINT)
    print_summary(snap, preset=None, status=SweepStatus.FINISHED, storage=watched.where, json_out=json_output)
    return exits.OK
