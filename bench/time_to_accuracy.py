"""Time to a test accuracy: train a preset and report when its best checkpoint first reaches a target.

After each epoch the run is paused while its best checkpoint so far is copied, and resumes; the pause
is not counted in the training time. When the run has ended, each copy is scored on the test split. The
test split is used here only to time the run: model selection still uses the validation split, exactly
as in a normal run.

The data is read by the trainer, on its own thread, and the test split is scored after the run: torch work
on a second thread while training runs costs the training thread about a third of its speed on a small CPU
(its OpenMP workers stop spinning and sleep once the process holds more of them than it has cores), and
this script measures what `fmtui train` does, not that.

Two clocks: ``seconds_to_target`` is training time alone (the epochs' own seconds, to the epoch whose
best checkpoint first reaches the target); ``wall_to`` is wall time from the start of training to the end
of that epoch's validation, and ``wall_seconds`` to the end of the run's own test evaluation, both less
this script's pauses. The wall clocks are what a person waits.

    python bench/time_to_accuracy.py --data-dir ../shared/data --preset tinyvgg --target 0.93 --device cuda
    python bench/time_to_accuracy.py --data-dir ../shared/data --preset fast --targets 0.93 0.94 --seed 1

Prints a line per epoch, then as its last line one JSON object (epoch_seconds, images_per_second,
seconds_to_target, epoch_reached, wall_to, wall_seconds, test_accuracy, precision).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fmtui.core.config.presets import load_preset  # noqa: E402
from fmtui.core.config.settings import with_assignments  # noqa: E402
from fmtui.core.data.fashion_mnist import load_fashion_mnist
from fmtui.core.data.splits import test_split  # noqa: E402
from fmtui.core.engine.evaluation import evaluate_checkpoint  # noqa: E402
from fmtui.core.engine.events import BatchEnded, EpochEnded, Event, RunFailed, RunStarted  # noqa: E402
from fmtui.core.engine.loop import resolve_device  # noqa: E402
from fmtui.core.engine.trainer import Trainer  # noqa: E402
from fmtui.core.records.checkpoints import load_checkpoint  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--preset", default="tinyvgg")
    parser.add_argument("--target", type=float, default=0.93, help="test accuracy to reach, as a fraction")
    parser.add_argument("--targets", type=float, nargs="+", help="several targets for wall_to (default: --target)")
    parser.add_argument("--seed", type=int, help="override the preset's seed")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a setting")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--epochs", type=int, help="override the preset's epochs")
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--train-subset", type=int, default=0, help="train on fewer images (smoke tests)")
    parser.add_argument("--val-size", type=int, help="override the validation split's size (smoke tests)")
    args = parser.parse_args()

    config = replace(load_preset(args.preset), device=args.device, compile=args.compile,
                     train_subset=args.train_subset)
    if args.epochs:
        config = replace(config, epochs=args.epochs)
    if args.val_size:
        config = replace(config, val_size=args.val_size)
    if args.seed is not None:
        config = replace(config, seed=args.seed)
    config = with_assignments(config, args.set)
    device = resolve_device(args.device)

    with tempfile.TemporaryDirectory(prefix="fmtui-tta-") as runs:
        copies = Path(runs) / "best-so-far"
        copies.mkdir()
        trainer = Trainer(config, data_dir=args.data_dir, runs_dir=Path(runs))
        epochs: list[dict] = []
        failure: list[str] = []
        run_dir: list[Path] = []

        clock = {"began": 0.0, "paused": 0.0}  # wall time at the first batch; this script's own pauses
        started: list[RunStarted] = []

        def on_event(event: Event) -> None:
            if isinstance(event, RunStarted):
                run_dir.append(Path(event.run_dir))
                started.append(event)
            elif isinstance(event, BatchEnded) and not clock["began"]:
                clock["began"] = time.perf_counter() - event.elapsed_seconds
            elif isinstance(event, EpochEnded):
                wall = time.perf_counter() - clock["began"] - clock["paused"]
                pausing = time.perf_counter()
                trainer.pause()  # hold training while the best checkpoint so far is copied
                shutil.copyfile(run_dir[0] / "best.pt", copies / f"{event.epoch}.pt")
                trainer.resume()
                clock["paused"] += time.perf_counter() - pausing
                epochs.append({"epoch": event.epoch, "seconds": event.seconds, "elapsed": event.elapsed_seconds,
                               "wall": wall, "images_per_second": event.images_per_second,
                               "val_accuracy": event.val_accuracy, "best_epoch": event.best_epoch})
                print(f"epoch {event.epoch:>2}: {event.seconds:6.2f} s, {event.images_per_second:9,.0f} img/s, "
                      f"val {event.val_accuracy:.2%}, elapsed {event.elapsed_seconds:7.1f} s, wall {wall:7.1f} s",
                      file=sys.stderr, flush=True)
            elif isinstance(event, RunFailed):
                failure.append(event.error)

        trainer.subscribe(on_event)
        trainer.start()
        outcome = trainer.wait()
        wall_seconds = time.perf_counter() - clock["began"] - clock["paused"]
        if failure or outcome is None or outcome.status != "finished":
            print(f"run did not finish: {failure or outcome}", file=sys.stderr)
            return 1
        test = test_split(load_fashion_mnist(args.data_dir, download=False), device)
        for row in epochs:
            row["test_accuracy_of_best"] = evaluate_checkpoint(load_checkpoint(copies / f"{row['epoch']}.pt"),
                                                               test, device).accuracy
            print(f"epoch {row['epoch']:>2}: best so far (epoch {row['best_epoch']}) scores "
                  f"{row['test_accuracy_of_best']:.2%} on the test split", file=sys.stderr)
    reached = next((row for row in epochs if row["test_accuracy_of_best"] >= args.target), None)
    wall_to = {str(target): next((row["wall"] for row in epochs if row["test_accuracy_of_best"] >= target), None)
               for target in (args.targets or [args.target])}
    result = {
        "preset": config.preset, "device": str(device), "compile": config.compile, "target": args.target,
        "epochs": len(epochs),
        "epoch_seconds": sum(r["seconds"] for r in epochs) / len(epochs),
        "images_per_second": len(epochs) / sum(1 / r["images_per_second"] for r in epochs),
        "seconds_to_target": reached["elapsed"] if reached else None,
        "epoch_reached": reached["epoch"] if reached else None,
        "wall_to": wall_to,
        "wall_seconds": wall_seconds,
        "test_accuracy": outcome.test_accuracy,
        "precision": started[0].device if started else None,
        "seed": config.seed,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
