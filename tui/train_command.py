"""`fmtui train`: one run without the TUI, stopped cleanly by Ctrl-C, SIGTERM or SIGHUP."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Any

from rich.console import Console

from core.config import TrainConfig, load_preset, parse_assignment, with_overrides
from core.errors import ConfigError, FmtuiError
from core.events import RunFailed
from core.records import RunRecord
from core.training import Trainer, resume_config
from tui.headless import JsonLines, PlainLog, ProgressBars
from tui.signals import HANDLED_SIGNALS

EXIT_CODES = {"finished": 0, "stopped": 0, "diverged": 3}


def resolve_config(preset: str | None, overrides: dict[str, Any], assignments: list[str],
                   device: str | None, resume: Path | None) -> tuple[TrainConfig, RunRecord | None]:
    if resume is not None:
        changed = [f"--{k.replace('_', '-')}" for k, v in overrides.items() if v is not None]
        changed += ["--set"] * bool(assignments) + ["--preset"] * bool(preset)
        if changed:
            raise ConfigError(f"{', '.join(changed)} cannot be combined with --resume: a resumed run keeps its "
                              f"configuration (only --device, --data-dir and --json apply).")
        record = RunRecord(resume)
        if not record.path.is_dir():
            raise ConfigError(f"--resume {resume}: no such run directory.")
        return resume_config(record, device), record
    if preset is None:
        raise ConfigError("--preset is required: name a preset (`fmtui presets` lists them) or a .toml file, "
                          "or continue a run with --resume RUN_DIR.")
    config = load_preset(preset)
    config = with_overrides(config, {**overrides, "device": device})
    for text in assignments:
        key, value = parse_assignment(text)
        config = with_overrides(config, {key: value}, label=lambda k: f"--set {k}")
    return config, None


def run_headless(*, preset: str | None, overrides: dict[str, Any], assignments: list[str], device: str | None,
                 data_dir: Path | None, runs_dir: Path, resume: Path | None, json_output: bool,
                 debug: bool = False) -> int:
    config, record = resolve_config(preset, overrides, assignments, device, resume)
    trainer = Trainer(config, data_dir=data_dir, runs_dir=runs_dir, resume=record)
    if json_output:
        trainer.subscribe(JsonLines(sys.stdout))
    if sys.stderr.isatty():
        trainer.subscribe(ProgressBars(Console(stderr=True, highlight=False)))
    else:
        trainer.subscribe(PlainLog(sys.stderr))
    failure: list[RunFailed] = []
    trainer.subscribe(lambda e: failure.append(e) if isinstance(e, RunFailed) else None)

    received: list[int] = []

    def on_signal(signum: int, frame: Any) -> None:
        if received:  # a second signal: the person wants out now; atomic writes keep the record sound
            raise SystemExit(128 + received[0])
        received.append(signum)
        trainer.stop("interrupted")

    previous = {s: signal.signal(s, on_signal) for s in HANDLED_SIGNALS}
    try:
        trainer.start()
        outcome = None
        while outcome is None:  # join in slices so the main thread keeps receiving signals
            outcome = trainer.wait(timeout=0.2)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    for problem in trainer.bus.errors:
        print(f"warning: a display failed:\n{problem}", file=sys.stderr)
    if failure:
        event = failure[0]
        if event.user_error:
            raise FmtuiError(event.error)
        if debug:
            print(event.traceback, file=sys.stderr, end="")
        print(f"internal error: {event.error}" + ("" if debug else "\nRun again with --debug for the traceback."),
              file=sys.stderr)
        return 1
    if outcome.status == "interrupted":
        return 128 + (received[0] if received else signal.SIGINT)
    return EXIT_CODES.get(outcome.status, 1)
