"""Training steps alone: what the number format, the memory layout, the batch size and the image side
each do to a preset's images per second on this machine.

Each variant trains one pass of fmtui's own loop (``train_one_epoch``: augmentation, forward, backward,
optimiser step, schedule) over the same random images, with no data to read and no validation. The
variants take turns, in an order that rotates each round, so that a machine whose speed drifts touches
them alike; the figure is the median round. The process keeps freed memory as a run does
(fmtui.core.engine.memory) unless ``--default-allocator`` says not to: run it both ways to see what that
buys.

    python bench/step_speed.py --preset fast-94
    python bench/step_speed.py --preset fast-94 --batch-sizes 64 128 256 --sides 24 28 --rounds 7
    python bench/step_speed.py --preset fast-94 --default-allocator

Prints a table, then as its last line one JSON object (per variant: precision, layout, batch size,
side, and the images per second of every round).
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fmtui.core.config.presets import load_preset  # noqa: E402
from fmtui.core.data.splits import Split  # noqa: E402
from fmtui.core.engine.loop import cpu_has_bf16, make_optimizer, make_scheduler, train_one_epoch  # noqa: E402
from fmtui.core.engine.memory import keep_freed_memory  # noqa: E402
from fmtui.core.models import build_model, model_spec  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="fast-94")
    parser.add_argument("--precisions", nargs="+", choices=("fp32", "bf16"),
                        help="default: both where the CPU does bfloat16 in hardware, else fp32")
    parser.add_argument("--layouts", nargs="+", choices=("channels-last", "contiguous"),
                        default=["channels-last", "contiguous"])
    parser.add_argument("--batch-sizes", type=int, nargs="+", help="default: the preset's")
    parser.add_argument("--sides", type=int, nargs="+", default=[28], help="image sides (progressive resizing)")
    parser.add_argument("--images", type=int, default=5_120, help="images per variant per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--default-allocator", action="store_true", help="leave glibc's allocator as it is")
    args = parser.parse_args()

    config = replace(load_preset(args.preset), device="cpu")
    kept = False if args.default_allocator else keep_freed_memory()
    precisions = args.precisions or (["fp32", "bf16"] if cpu_has_bf16() else ["fp32"])
    variants = list(itertools.product(precisions, args.layouts, args.batch_sizes or [config.batch_size], args.sides))
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (args.images, 1, 28, 28), dtype=torch.uint8, generator=generator)
    split = Split(images, torch.randint(0, 10, (args.images,), generator=generator))
    convolutional = model_spec(config.model).channels_last
    speeds: dict[tuple, list[float]] = {variant: [] for variant in variants}

    for round_ in range(args.rounds + 1):  # round 0 warms every variant up and is not counted
        shift = round_ % len(variants)
        for precision, layout, batch_size, side in variants[shift:] + variants[:shift]:
            variant_config = replace(config, cpu_precision=precision, batch_size=batch_size)
            torch.manual_seed(0)
            model = build_model(variant_config)
            channels_last = convolutional and layout == "channels-last"
            if channels_last:
                model = model.to(memory_format=torch.channels_last)
            optimizer = make_optimizer(model, variant_config)
            scheduler = make_scheduler(optimizer, variant_config, len(split) // batch_size)
            began = time.perf_counter()
            result = train_one_epoch(model, split, optimizer, scheduler, config=variant_config,
                                     device=torch.device("cpu"), channels_last=channels_last,
                                     generator=generator, side=side)
            if round_:
                speeds[(precision, layout, batch_size, side)].append(result.images / (time.perf_counter() - began))
        print(f"round {round_}/{args.rounds} done", file=sys.stderr, flush=True)

    print(f"{args.preset} ({config.model}), {torch.get_num_threads()} threads, "
          f"allocator {'keeping freed memory' if kept else 'as glibc sets it'}; median of {args.rounds} rounds")
    print("| precision | layout | batch | side | images/s | range |\n|---|---|---|---|---|---|")
    for variant, values in speeds.items():
        precision, layout, batch_size, side = variant
        print(f"| {precision} | {layout} | {batch_size} | {side} | {statistics.median(values):,.0f} | "
              f"{min(values):,.0f}–{max(values):,.0f} |")
    print(json.dumps({"preset": args.preset, "threads": torch.get_num_threads(), "kept_freed_memory": kept,
                      "variants": [{"precision": p, "layout": la, "batch_size": b, "side": s, "images_per_second": v}
                                   for (p, la, b, s), v in speeds.items()]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
