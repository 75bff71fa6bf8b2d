"""Building and running the monitor app: one factory for the CLI and the tests alike."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from pathlib import Path

from core.config import TrainConfig, load_preset, with_overrides
from tui.app import MonitorApp, TrainerLike
from tui.screens.preset_menu import available_presets


def make_app(*, preset: str | None = None, data_dir: Path | None = None, runs_dir: Path = Path("runs"),
             device: str | None = None,
             trainer_factory: Callable[[TrainConfig], TrainerLike] | None = None) -> MonitorApp:
    """The app, ready to run. Bad --preset or --device values raise ConfigError before any screen opens."""
    with_overrides(TrainConfig(), {"device": device})  # checks --device even when no preset is given
    start = with_overrides(load_preset(preset), {"device": device}) if preset else None

    def real_trainer(config: TrainConfig) -> TrainerLike:
        from core.training import Trainer  # late: torch takes a moment to import, the first screen need not wait

        return Trainer(config, data_dir=data_dir, runs_dir=runs_dir)

    return MonitorApp(new_trainer=trainer_factory or real_trainer, presets=lambda: available_presets(device),
                      start=start)


def run_tui(*, preset: str | None = None, data_dir: Path | None = None, runs_dir: Path = Path("runs"),
            device: str | None = None) -> int:
    """Run the monitor until the person quits; the exit code for the CLI."""
    app = make_app(preset=preset, data_dir=data_dir, runs_dir=runs_dir, device=device)

    def on_signal(signum: int, frame: object) -> None:
        # The SSH connection dropped (SIGHUP) or we were told to end (SIGTERM): no one is left to ask,
        # so leave at once; finish_runs then ends the run as interrupted, with its record written.
        app.exit(128 + signum)

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGHUP, signal.SIGTERM)}
    try:
        app.run()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        app.finish_runs()
    for failure in app.internal_errors:
        print(f"internal error: {failure.error}\n{failure.traceback}", file=sys.stderr, end="")
    if app.internal_errors:
        return 1
    return app.return_code or 0
