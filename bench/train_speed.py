"""Training speed: fmtui's engine against the loop a tutorial writes by hand.

For each preset's model, in one process, images per second of training:

  (a) tutorial  torchvision FashionMNIST with ToTensor and Normalize, a shuffling DataLoader with
                batch size 128, and the usual forward, backward, step;
  (b) fmtui     the engine headless, with the preset's own settings (the ones that reach the
                accuracy targets: batch size, augmentation, channels-last, schedule, ...);
  (c) fmtui+sub the same with a subscriber attached that records every event.

A shared machine's speed drifts by tens of percent over minutes, more than the differences being
measured. So each measurement covers at least a full epoch's worth of images (55,000), taken in
``--slices`` slices that interleave (a), (b) and (c), rotating their order each round: drift then
touches all three alike. The tutorial loop runs as one continuous loop, timed slice by slice; each
engine slice is a one-epoch run on a subset of the training split (the linear model: the whole
split), timed by the engine itself over its training phase. The validation split is cut to 1,000
images in these runs: it is evaluated outside the timed phase and only costs waiting.

Prints a table, then as its last line one JSON object with linear_ratio and tinyvgg_ratio
((b) over (a)) and subscriber_overhead (1 - (c)/(b), the larger of the two models'), each from the
total images over the total time, and beside them the same from the median slice of each kind
(``*_median``): one stalled slice (a 0.2 s linear slice at 8,000 images/s among slices of 230,000 to
320,000 once turned a median overhead of 6% into a total of 76%) moves a total, not a median.

    python bench/train_speed.py --data-dir ../shared/data            # about 9 minutes on 2 CPU cores
    python bench/train_speed.py --data-dir ../shared/data --quick    # a cut-down check
    python bench/train_speed.py --data-dir ../shared/data --set cpu_precision=fp32   # both in float32
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fmtui.core.config.presets import load_preset  # noqa: E402
from fmtui.core.config.settings import TrainConfig, with_assignments  # noqa: E402
from fmtui.core.data.fashion_mnist import MEAN, STD, FashionMNIST, load_fashion_mnist  # noqa: E402
from fmtui.core.engine.events import Event  # noqa: E402
from fmtui.core.engine.loop import resolve_device, uses_bf16  # noqa: E402
from fmtui.core.engine.trainer import Trainer  # noqa: E402
from fmtui.core.models import build_model, model_spec  # noqa: E402
from fmtui.core.records.run_dir import RunRecord  # noqa: E402

PRESETS = ("linear", "tinyvgg")
# Images per slice: (tutorial loop, engine training subset; 0 = the whole training split).
SLICE = {"linear": (5_000, 0), "tinyvgg": (5_120, 5_120)}
BENCH_VAL_SIZE = 1_000


class TutorialLoop:
    """The classic loop, one continuous run that ``train(n)`` advances by about n images, timed."""

    def __init__(self, config: TrainConfig, data_dir: Path, device: torch.device) -> None:
        from torch.utils.data import DataLoader
        from torchvision import datasets, transforms

        dataset = datasets.FashionMNIST(str(data_dir), train=True, download=False,
                                        transform=transforms.Compose([transforms.ToTensor(),
                                                                      transforms.Normalize((MEAN,), (STD,))]))
        self.loader = DataLoader(dataset, batch_size=128, shuffle=True)
        self.batches = iter(self.loader)
        torch.manual_seed(config.seed)
        self.device = device
        self.model = build_model(config).to(device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-3)
        self.loss_fn = torch.nn.CrossEntropyLoss()
        self.model.train()

    def train(self, images: int) -> tuple[int, float]:
        done, start = 0, time.perf_counter()
        while done < images:
            try:
                x, y = next(self.batches)
            except StopIteration:  # a new epoch, as the tutorial's outer loop would start
                self.batches = iter(self.loader)
                continue
            x, y = x.to(self.device), y.to(self.device)
            loss = self.loss_fn(self.model(x), y)
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            done += len(y)
        if self.device.type == "cuda":
            torch.cuda.synchronize()
        return done, time.perf_counter() - start


def engine_slice(config: TrainConfig, data: FashionMNIST, record_events: bool) -> tuple[int, float, int]:
    """One one-epoch engine run: (images trained, seconds of its training phase, events recorded).

    The timing comes from the run record (metrics.jsonl), so run (b) needs no subscriber at all.
    """
    events: list[Event] = []
    with tempfile.TemporaryDirectory(prefix="fmtui-bench-") as runs:
        trainer = Trainer(config, data=data, runs_dir=Path(runs))
        if record_events:
            trainer.subscribe(events.append)
        outcome = trainer.run()
        trainer.wait()
        if outcome.status != "finished":
            raise SystemExit(f"the engine run ended '{outcome.status}': {outcome.error}")
        (row,) = RunRecord(outcome.run_dir).read_history()
    train_size = config.train_subset or len(data.train_labels) - config.val_size
    images = train_size // config.batch_size * config.batch_size  # the trainer drops the last partial batch
    return images, images / row["images_per_second"], len(events)


def bench_config(name: str, data: FashionMNIST, args: argparse.Namespace) -> TrainConfig:
    _, subset = SLICE[name]
    config = replace(load_preset(name), epochs=1, device=args.device, compile=args.compile,
                     val_size=BENCH_VAL_SIZE, train_subset=subset)
    config = with_assignments(config, args.set)
    if args.quick:  # a few batches, and splits that fit even tiny test data
        n = len(data.train_labels)
        val_size = max(10, min(200, n // 5))
        train_subset = min(2 * config.batch_size, n - val_size)
        config = replace(config, val_size=val_size, train_subset=train_subset,
                         batch_size=min(config.batch_size, train_subset))
    return config


def measure(name: str, data: FashionMNIST, args: argparse.Namespace, console: Console) -> dict:
    config = bench_config(name, data, args)
    tutorial_images = 256 if args.quick else SLICE[name][0]
    tutorial = TutorialLoop(config, args.data_dir, resolve_device(args.device))
    # Warm-up, untimed: first batches pay for allocations and kernel selection in both.
    tutorial.train(min(tutorial_images, 1280))
    engine_slice(replace(config, train_subset=min(config.train_subset or 1024, 1024)), data, False)
    totals = {"tutorial": [0, 0.0], "fmtui": [0, 0.0], "subscribed": [0, 0.0]}
    per_slice: dict[str, list[float]] = {k: [] for k in totals}
    events = 0
    steps = {
        "tutorial": lambda: tutorial.train(tutorial_images),
        "fmtui": lambda: engine_slice(config, data, False)[:2],
        "subscribed": lambda: engine_slice(config, data, True),
    }
    order = list(steps)
    for round_ in range(args.slices):
        console.print(f"{name}: slice {round_ + 1}/{args.slices}", highlight=False)
        for kind in order[round_ % 3:] + order[:round_ % 3]:
            images, seconds, *extra = steps[kind]()
            totals[kind][0] += images
            totals[kind][1] += seconds
            per_slice[kind].append(images / seconds)
            events += extra[0] if extra else 0
    speed = {kind: images / seconds for kind, (images, seconds) in totals.items()}
    median = {kind: statistics.median(rates) for kind, rates in per_slice.items()}
    bf16 = uses_bf16(resolve_device(args.device), config.cpu_precision, model_spec(config.model).channels_last)
    return {"precision": "bf16" if bf16 else "fp32",
            "tutorial_images_per_second": speed["tutorial"], "fmtui_images_per_second": speed["fmtui"],
            "subscribed_images_per_second": speed["subscribed"], "images_timed": {k: v[0] for k, v in totals.items()},
            "events_recorded": events, "ratio": speed["fmtui"] / speed["tutorial"],
            "subscriber_overhead": 1 - speed["subscribed"] / speed["fmtui"],
            "median_images_per_second": median, "ratio_median": median["fmtui"] / median["tutorial"],
            "subscriber_overhead_median": 1 - median["subscribed"] / median["fmtui"],
            "per_slice_images_per_second": per_slice}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="directory with FashionMNIST/raw/ inside")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda (default: auto)")
    parser.add_argument("--compile", action="store_true", help="torch.compile the engine's model")
    parser.add_argument("--quick", action="store_true", help="a few batches per measurement, to check it works")
    parser.add_argument("--slices", type=int, help="interleaved rounds per model (default 11, quick: 2)")
    parser.add_argument("--presets", nargs="+", default=list(PRESETS), choices=PRESETS)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a setting of the engine's runs (cpu_precision=fp32: the tutorial's format)")
    args = parser.parse_args()
    args.slices = args.slices or (2 if args.quick else 11)

    device = resolve_device(args.device)
    data = load_fashion_mnist(args.data_dir, download=False)
    console = Console(stderr=True)
    results = {name: measure(name, data, args, console) for name in args.presets}

    table = Table("model", "tutorial loop", "fmtui (format)", "ratio (median)", "fmtui + subscriber",
                  "subscriber overhead (median)",
                  title=f"Training throughput on {device} ({torch.get_num_threads()} threads), "
                        f"{args.slices} interleaved slices: totals, and the median slice"
                        + (" [quick]" if args.quick else ""),
                  title_justify="left")
    for name, r in results.items():
        table.add_row(name, f"{r['tutorial_images_per_second']:,.0f} img/s",
                      f"{r['fmtui_images_per_second']:,.0f} img/s ({r['precision']})",
                      f"{r['ratio']:.2f}x ({r['ratio_median']:.2f}x)",
                      f"{r['subscribed_images_per_second']:,.0f} img/s",
                      f"{r['subscriber_overhead'] * 100:+.1f}% ({r['subscriber_overhead_median'] * 100:+.1f}%)")
    console.print(table)
    summary = {f"{name}_ratio": round(r["ratio"], 3) for name, r in results.items()}
    summary.update({f"{name}_ratio_median": round(r["ratio_median"], 3) for name, r in results.items()})
    summary["subscriber_overhead"] = round(max(r["subscriber_overhead"] for r in results.values()), 4)
    summary["subscriber_overhead_median"] = round(max(r["subscriber_overhead_median"] for r in results.values()), 4)
    summary.update(device=str(device), threads=torch.get_num_threads(), quick=args.quick, compile=args.compile,
                   slices=args.slices, results=results)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
