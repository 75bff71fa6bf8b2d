"""The TUI's own cost: training throughput with the Textual app attached against headless mode.

For each preset, in one process: an epoch (several for the fast linear model) in headless mode (the
trainer with the plain per-epoch log `fmtui train` writes when piped), then the same with the
monitor app attached (Textual's headless driver, `App.run_test`, at 120x40 so every widget draws),
alternating ``--rounds`` times. Prints a table and, as its last line, one JSON object with
``tui_overhead`` (1 - with TUI / headless, the larger of the presets').

    python bench/tui_overhead.py --data-dir ../shared/data            # about 5 minutes on 2 CPU cores
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
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from core.config import TrainConfig, load_preset  # noqa: E402
from core.data import FashionMNIST, load_fashion_mnist  # noqa: E402
from core.records import RunRecord  # noqa: E402
from core.training import Trainer  # noqa: E402
from tui.headless import PlainLog  # noqa: E402
from tui.launch import make_app  # noqa: E402

EPOCHS = {"linear": 5, "tinyvgg": 1}


def throughput(run_dir: Path) -> float:
    """Training images per second over the run's epochs, from its record."""
    history = RunRecord(run_dir).read_history()
    return len(history) / sum(1 / row["images_per_second"] for row in history)


def headless(config: TrainConfig, data: FashionMNIST, runs: Path) -> float:
    trainer = Trainer(config, data=data, runs_dir=runs)
    trainer.subscribe(PlainLog(io.StringIO()))
    trainer.start()
    outcome = trainer.wait()
    assert outcome.status == "finished", outcome
    return throughput(outcome.run_dir)


def with_tui(config: TrainConfig, data: FashionMNIST, runs: Path) -> float:
    def factory(cfg: TrainConfig, resume: RunRecord | None = None) -> Trainer:
        return Trainer(cfg, data=data, runs_dir=runs)  # the data already loaded, as in headless()

    app = make_app(preset=str(preset_file(config, runs)), runs_dir=runs, trainer_factory=factory)

    async def watch() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            while not (app.runs and app.runs[1].ended):
                await pilot.pause(0.2)

    asyncio.run(watch())
    app.finish_runs()
    return throughput(app.runs[1].trainer.wait().run_dir)


def preset_file(config: TrainConfig, where: Path) -> Path:
    """The trimmed config as a preset file, so the app starts it exactly as `fmtui --preset FILE` would."""
    path = where / f"{config.preset}.toml"
    path.write_text("".join(f"{key} = {json.dumps(value)}\n" for key, value in config.to_dict().items()
                            if key != "preset"))
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=1, help="headless/TUI pairs per preset (alternating)")
    parser.add_argument("--quick", action="store_true", help="a few batches, to check the script works")
    parser.add_argument("--presets", nargs="+", default=["linear", "tinyvgg"])
    args = parser.parse_args()

    data = load_fashion_mnist(args.data_dir, download=False)
    console = Console(stderr=True)
    table = Table("preset", "headless", "with TUI", "TUI overhead", title="Training throughput, TUI attached or not",
                  title_justify="left")
    results = {}
    for name in args.presets:
        config = replace(load_preset(name), epochs=EPOCHS[name], device="cpu")
        if args.quick:
            config = replace(config, epochs=1, train_subset=4 * config.batch_size, val_size=500)
        plain, tui = [], []
        with tempfile.TemporaryDirectory(prefix="fmtui-tui-bench-") as runs:
            for round_ in range(1, args.rounds + 1):
                console.print(f"{name}: round {round_}/{args.rounds}, headless ...")
                plain.append(headless(config, data, Path(runs)))
                console.print(f"{name}: round {round_}/{args.rounds}, with the TUI ...")
                tui.append(with_tui(config, data, Path(runs)))
        a, b = statistics.mean(plain), statistics.mean(tui)
        results[name] = {"headless_images_per_second": plain, "tui_images_per_second": tui,
                         "tui_overhead": 1 - b / a}
        table.add_row(name, f"{a:,.0f} img/s", f"{b:,.0f} img/s", f"{(1 - b / a) * 100:+.1f}%")
    console.print(table)
    print(json.dumps({"tui_overhead": round(max(r["tui_overhead"] for r in results.values()), 4),
                      "quick": args.quick, "results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
