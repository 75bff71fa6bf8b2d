"""The TUI's own cost: training throughput with the Textual app attached against headless mode.

For each preset, in one process: runs (linear: its whole preset; tinyvgg: two short epochs) in
headless mode (the trainer with the plain per-epoch log `fmtui train` writes when piped) and the same
with the monitor app attached (Textual's headless driver, `App.run_test`, at 120x40 so every widget
draws, charts and all), interleaved in ``--slices`` rounds whose order alternates, so that the
machine's drift touches both alike (see train_speed.py). Throughput is the engine's own, over its
training phases. Prints a table and, as its last line, one JSON object with the larger of the
presets' figures:

- ``tui_overhead``: 1 - with TUI / headless, from total images over total time;
- ``tui_overhead_median``: the same from each mode's median slice, which one stalled slice cannot move;
- ``tui_overhead_paired``: the median of each round's own overhead (a round's two runs are seconds
  apart: the machine's drift, and a stall, touch one round, not the estimate);
- ``monitor_cpu``: the CPU time the monitor's thread used from a run's start to its test evaluation,
  over the wall time between them: the share of a core the monitor used while the run trained, which
  varies far less from slice to slice than a difference of two throughputs.

    python bench/tui_overhead.py --data-dir ../shared/data            # about 6 minutes on 2 CPU cores
    python bench/tui_overhead.py --data-dir ../shared/data --quick    # a cut-down check
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from fmtui.core.config.presets import load_preset  # noqa: E402
from fmtui.core.config.settings import TrainConfig
from fmtui.core.data.fashion_mnist import FashionMNIST, load_fashion_mnist  # noqa: E402
from fmtui.core.engine.events import Event, TestStarted  # noqa: E402
from fmtui.core.engine.trainer import Trainer  # noqa: E402
from fmtui.core.records.run_dir import RunRecord  # noqa: E402
from fmtui.tui.cli.headless import PlainLog  # noqa: E402
from fmtui.tui.monitor.launch import make_app  # noqa: E402

# Per run: (epochs, training images; 0 = the whole split). Linear runs its whole preset (15 epochs of
# half a second); tinyvgg two short epochs, long enough that a run's start-up drawing is amortised.
RUNS = {"linear": (None, 0), "tinyvgg": (2, 2_560)}


def trained(run_dir: Path, images_per_epoch: int) -> tuple[int, float]:
    """Images trained and seconds spent in training phases, from the run's record (early stopping included)."""
    history = RunRecord(run_dir).read_history()
    return images_per_epoch * len(history), sum(images_per_epoch / row["images_per_second"] for row in history)


def headless(config: TrainConfig, data: FashionMNIST, runs: Path) -> tuple[Path, tuple[float, float]]:
    trainer = Trainer(config, data=data, runs_dir=runs)
    trainer.subscribe(PlainLog(io.StringIO()))
    trainer.start()
    outcome = trainer.wait()
    assert outcome.status == "finished", outcome
    return outcome.run_dir, (0.0, 0.0)


def with_tui(config: TrainConfig, data: FashionMNIST, runs: Path) -> tuple[Path, tuple[float, float]]:
    """The run's directory, and the CPU seconds the app's thread (Textual's event loop) used from the
    run's start to its test evaluation, with the wall seconds between them."""
    app_thread = time.pthread_getcpuclockid(threading.main_thread().ident)  # readable from the trainer's
    marks: dict[str, tuple[float, float]] = {}

    def at_test(event: Event) -> None:  # called on the trainer's thread as the training phase ends
        if isinstance(event, TestStarted):
            marks["tested"] = (time.clock_gettime(app_thread), time.perf_counter())

    def factory(cfg: TrainConfig, resume: RunRecord | None = None) -> Trainer:
        trainer = Trainer(cfg, data=data, runs_dir=runs)  # the data already loaded, as in headless()
        trainer.subscribe(at_test)
        return trainer

    app = make_app(runs_dir=runs, trainer_factory=factory)

    async def watch() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            # As a person would: the app is up and drawn before a run starts from the preset menu.
            await pilot.pause(0.5)
            await pilot.press("escape")
            await pilot.pause(0.3)
            marks["started"] = (time.clock_gettime(app_thread), time.perf_counter())
            app.start_run(config)
            while not app.runs[1].ended:
                # Not pilot.pause(): it forces a screen update each time, a cost no person watching adds.
                await asyncio.sleep(0.2)

    asyncio.run(watch())
    app.finish_runs()
    (cpu_start, wall_start), (cpu_end, wall_end) = marks["started"], marks["tested"]
    return app.runs[1].trainer.wait().run_dir, (cpu_end - cpu_start, wall_end - wall_start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--slices", type=int, help="interleaved headless/TUI rounds per preset (default 11, quick: 1)")
    parser.add_argument("--quick", action="store_true", help="a few batches, to check the script works")
    parser.add_argument("--presets", nargs="+", default=list(RUNS))
    args = parser.parse_args()
    slices = args.slices or (1 if args.quick else 11)

    data = load_fashion_mnist(args.data_dir, download=False)
    console = Console(stderr=True)
    table = Table("preset", "headless", "with TUI", "TUI overhead", "median slices: headless", "with TUI",
                  "TUI overhead", "paired", "monitor CPU",
                  title=f"Training throughput, TUI attached or not, {slices} interleaved slices: totals, and the "
                        f"median slice", title_justify="left")
    results = {}
    for name in args.presets:
        epochs, subset = RUNS[name]
        config = load_preset(name)
        config = replace(config, epochs=epochs or config.epochs, device="cpu", val_size=1_000, train_subset=subset)
        if args.quick:
            config = replace(config, epochs=1, train_subset=2 * config.batch_size, val_size=100)
        train_size = config.train_subset or len(data.train_labels) - config.val_size
        images = train_size // config.batch_size * config.batch_size  # per epoch: the last partial batch is dropped
        modes = {"headless": headless, "tui": with_tui}
        totals = {mode: [0, 0.0] for mode in modes}
        rates: dict[str, list[float]] = {mode: [] for mode in modes}
        monitor = [0.0, 0.0]  # the monitor thread's CPU seconds, wall seconds
        with tempfile.TemporaryDirectory(prefix="fmtui-tui-bench-") as runs:
            for round_ in range(slices):
                console.print(f"{name}: slice {round_ + 1}/{slices}", highlight=False)
                for mode in (list(modes) if round_ % 2 == 0 else list(reversed(modes))):
                    run_dir, (cpu, wall) = modes[mode](config, data, Path(runs))
                    done, seconds = trained(run_dir, images)
                    monitor[0] += cpu
                    monitor[1] += wall
                    totals[mode][0] += done
                    totals[mode][1] += seconds
                    rates[mode].append(done / seconds)
        plain, tui = (totals[m][0] / totals[m][1] for m in modes)
        plain_median, tui_median = (statistics.median(rates[m]) for m in modes)
        paired = statistics.median(1 - t / h for h, t in zip(rates["headless"], rates["tui"]))
        results[name] = {"headless_images_per_second": plain, "tui_images_per_second": tui,
                         "tui_overhead": 1 - tui / plain, "headless_median": plain_median, "tui_median": tui_median,
                         "tui_overhead_median": 1 - tui_median / plain_median, "tui_overhead_paired": paired,
                         "monitor_cpu": monitor[0] / monitor[1], "per_slice_images_per_second": rates}
        table.add_row(name, f"{plain:,.0f} img/s", f"{tui:,.0f} img/s", f"{(1 - tui / plain) * 100:+.1f}%",
                      f"{plain_median:,.0f} img/s", f"{tui_median:,.0f} img/s",
                      f"{(1 - tui_median / plain_median) * 100:+.1f}%", f"{paired * 100:+.1f}%",
                      f"{monitor[0] / monitor[1]:.1%}")
    console.print(table)
    print(json.dumps({"tui_overhead": round(max(r["tui_overhead"] for r in results.values()), 4),
                      "tui_overhead_median": round(max(r["tui_overhead_median"] for r in results.values()), 4),
                      "tui_overhead_paired": round(max(r["tui_overhead_paired"] for r in results.values()), 4),
                      "monitor_cpu": round(max(r["monitor_cpu"] for r in results.values()), 4),
                      "quick": args.quick, "slices": slices, "results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
