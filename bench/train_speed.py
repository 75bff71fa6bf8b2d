"""Training speed: fmtui's engine against the loop a tutorial writes by hand.

For each preset's model, in one process, images per second of training epochs:

  (a) tutorial  torchvision FashionMNIST with ToTensor and Normalize, a shuffling DataLoader with
                batch size 128, and the usual forward, backward, step;
  (b) fmtui     the engine headless, with the preset's own settings (the ones that reach the
                accuracy targets: batch size, augmentation, schedule, ...);
  (c) fmtui+sub the same with a subscriber attached that records every event.

Prints a table, then as its last line one JSON object with linear_ratio and tinyvgg_ratio
((b) over (a)) and subscriber_overhead (1 - (c)/(b), the larger of the two models').

    python bench/train_speed.py --data-dir ../shared/data            # about 8 minutes on 2 CPU cores
    python bench/train_speed.py --data-dir ../shared/data --quick    # a cut-down check, under a minute
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.config import TrainConfig, load_preset  # noqa: E402
from core.data import MEAN, STD, FashionMNIST, load_fashion_mnist  # noqa: E402
from core.events import Event  # noqa: E402
from core.records import RunRecord  # noqa: E402
from core.loop import resolve_device  # noqa: E402
from core.models import build_model  # noqa: E402
from core.training import Trainer  # noqa: E402

PRESETS = ("linear", "tinyvgg")
# Epochs timed per measurement: the linear model's epochs take under a second, so it gets several.
FULL_EPOCHS = {"linear": 5, "tinyvgg": 1}


def tutorial_speed(config: TrainConfig, data_dir: Path, device: torch.device, max_batches: int | None) -> float:
    """Images per second of the classic loop: PIL images through transforms in a DataLoader."""
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms

    dataset = datasets.FashionMNIST(str(data_dir), train=True, download=False,
                                    transform=transforms.Compose([transforms.ToTensor(),
                                                                  transforms.Normalize((MEAN,), (STD,))]))
    loader = DataLoader(dataset, batch_size=128, shuffle=True)
    torch.manual_seed(config.seed)
    model = build_model(config).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    model.train()
    images, start = 0, time.perf_counter()
    for batch, (x, y) in enumerate(loader, 1):
        x, y = x.to(device), y.to(device)
        loss = loss_fn(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        images += len(y)
        if max_batches and batch >= max_batches:
            break
    if device.type == "cuda":
        torch.cuda.synchronize()
    return images / (time.perf_counter() - start)


def engine_speed(config: TrainConfig, data: FashionMNIST, record_events: bool) -> tuple[float, int]:
    """Training images per second of fmtui's engine, and how many events a subscriber received.

    The speed comes from the run record (metrics.jsonl), so run (b) needs no subscriber at all.
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
        history = RunRecord(outcome.run_dir).read_history()
    # Every epoch trains the same number of images, so the overall rate is the harmonic mean.
    return len(history) / sum(1 / row["images_per_second"] for row in history), len(events)


def bench_config(name: str, data: FashionMNIST, args: argparse.Namespace) -> TrainConfig:
    config = replace(load_preset(name), epochs=1 if args.quick else FULL_EPOCHS[name], device=args.device,
                     compile=args.compile)
    if args.quick:  # a few batches, and a validation split that fits even tiny test data
        n = len(data.train_labels)
        val_size = max(10, min(500, n // 5))
        train_subset = min(4 * config.batch_size, n - val_size)
        config = replace(config, val_size=val_size, train_subset=train_subset,
                         batch_size=min(config.batch_size, train_subset))
    return config


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="directory with FashionMNIST/raw/ inside")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda (default: auto)")
    parser.add_argument("--compile", action="store_true", help="torch.compile the engine's model")
    parser.add_argument("--quick", action="store_true", help="a few batches per measurement, to check it works")
    parser.add_argument("--presets", nargs="+", default=list(PRESETS), choices=PRESETS)
    args = parser.parse_args()

    device = resolve_device(args.device)
    data = load_fashion_mnist(args.data_dir, download=False)
    console = Console(stderr=True)
    table = Table("model", "tutorial loop", "fmtui", "ratio", "fmtui + subscriber", "subscriber overhead",
                  title=f"Training throughput on {device} ({torch.get_num_threads()} threads)"
                        + (" [quick]" if args.quick else ""), title_justify="left")
    results = {}
    for name in args.presets:
        config = bench_config(name, data, args)
        console.print(f"[bold]{name}[/bold]: tutorial loop ...", highlight=False)
        tutorial = tutorial_speed(config, args.data_dir, device, max_batches=4 if args.quick else None)
        console.print(f"[bold]{name}[/bold]: fmtui engine ...", highlight=False)
        engine, _ = engine_speed(config, data, record_events=False)
        console.print(f"[bold]{name}[/bold]: fmtui engine with a subscriber ...", highlight=False)
        subscribed, events = engine_speed(config, data, record_events=True)
        results[name] = {"tutorial_images_per_second": tutorial, "fmtui_images_per_second": engine,
                         "subscribed_images_per_second": subscribed, "events_recorded": events,
                         "ratio": engine / tutorial, "subscriber_overhead": 1 - subscribed / engine}
        r = results[name]
        table.add_row(name, f"{tutorial:,.0f} img/s", f"{engine:,.0f} img/s", f"{r['ratio']:.2f}x",
                      f"{subscribed:,.0f} img/s", f"{r['subscriber_overhead'] * 100:+.1f}%")
    console.print(table)
    summary = {f"{name}_ratio": round(r["ratio"], 3) for name, r in results.items()}
    summary["subscriber_overhead"] = round(max(r["subscriber_overhead"] for r in results.values()), 4)
    summary.update(device=str(device), threads=torch.get_num_threads(), quick=args.quick,
                   compile=args.compile, results=results)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
