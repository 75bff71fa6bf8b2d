"""What each step of a fast preset buys: time to 93% and 94% test accuracy, and the final accuracy.

Runs ``bench/time_to_accuracy.py`` once per variant and seed, each in a process of its own, the variants
interleaved seed by seed (seed 0 of every variant, then seed 1 of every variant, ...) so that a machine
whose speed drifts touches every variant alike. A variant is the preset with some settings changed,
named on the command line as ``NAME:KEY=VALUE,KEY=VALUE`` (``NAME:`` alone is the preset as it ships;
a ``preset=OTHER`` entry trains another preset instead). Each finished run's JSON line is appended to
``--out``, so a long sitting can be read (and resumed, with --skip-done) while it runs.

    python bench/steps.py --data-dir ../shared/data --preset fast --seeds 0 1 2 \\
        'fast:' 'adamw:optimizer=adamw,lr=0.006,weight_decay=0.05' 'tinyvgg:preset=tinyvgg'

Prints, as the last lines, a table in Markdown: per variant the median over the seeds of the wall time
to each target and of the final test accuracy, with their spread (lowest-highest).
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import statistics
import subprocess
import sys
from pathlib import Path

from fmtui.tui.render.format import duration, percent

HERE = Path(__file__).resolve().parent
TARGETS = ("0.93", "0.94")


def parse_variant(text: str) -> tuple[str, str | None, list[str]]:
    """``NAME:KEY=VALUE,...`` -> (name, preset or None, ["KEY=VALUE", ...])."""
    name, _, settings = text.partition(":")
    preset, sets = None, []
    for item in filter(None, re.split(r",(?![^\[]*\])", settings)):  # not the commas of a list
        key, _, value = item.partition("=")
        if key == "preset":
            preset = value
        else:
            sets.append(item)
    return name, preset, sets


def run_one(args: argparse.Namespace, preset: str, sets: list[str], seed: int) -> dict | None:
    command = [sys.executable, str(HERE / "time_to_accuracy.py"), "--data-dir", str(args.data_dir),
               "--preset", preset, "--seed", str(seed), "--targets", *TARGETS]
    for item in sets:
        command += ["--set", item]
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True)
    if done.returncode != 0:
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def spread(values: list[float | None], fmt) -> str:
    if not values or any(v is None for v in values):
        reached = [v for v in values if v is not None]
        return f"{len(reached)} of {len(values)} runs" if reached else "–"
    middle = statistics.median(values)
    return fmt(middle) if len(values) == 1 else f"{fmt(middle)} ({fmt(min(values))}–{fmt(max(values))})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--preset", default="fast", help="the preset the variants change")
    # Variants may follow the seeds (`--seeds 0 1 2 'fast:'`): the seeds are the whole numbers that lead.
    parser.add_argument("--seeds", nargs="+", default=["0"], metavar="SEED")
    parser.add_argument("--out", type=Path, default=Path("steps.jsonl"), help="one JSON line per finished run")
    parser.add_argument("--skip-done", action="store_true", help="keep the runs already in --out")
    parser.add_argument("variants", nargs="*", metavar="NAME:KEY=VALUE,...")
    args = parser.parse_args()
    seeds = list(itertools.takewhile(str.isdecimal, args.seeds))
    named = args.seeds[len(seeds):] + args.variants
    if not seeds or not named:
        parser.error("give at least one seed (--seeds 0 1 2) and one variant (NAME:KEY=VALUE,...)")
    args.seeds = [int(seed) for seed in seeds]

    variants = [parse_variant(text) for text in named]
    done: list[dict] = []
    if args.skip_done and args.out.exists():
        done = [json.loads(line) for line in args.out.read_text().splitlines() if line.strip()]
    for seed in args.seeds:
        for name, preset, sets in variants:
            if any(row["variant"] == name and row["seed"] == seed for row in done):
                continue
            print(f"{name}, seed {seed} ...", file=sys.stderr, flush=True)
            result = run_one(args, preset or args.preset, sets, seed)
            row = {"variant": name, "seed": seed, "settings": sets, "preset": preset or args.preset, "result": result}
            done.append(row)
            with args.out.open("a") as f:
                f.write(json.dumps(row) + "\n")

    print("| step | time to 93% | time to 94% | test accuracy | runs |\n|---|---|---|---|---|")
    for name, _, _ in variants:
        results = [row["result"] for row in done if row["variant"] == name and row["result"]]
        failed = sum(1 for row in done if row["variant"] == name and not row["result"])
        if not results:
            print(f"| {name} | – | – | – | {failed} failed |")
            continue
        times = [spread([r["wall_to"].get(t) for r in results], duration) for t in TARGETS]
        accuracy = spread([r["test_accuracy"] for r in results], percent)
        note = f"{len(results)}" + (f", {failed} failed" if failed else "")
        print(f"| {name} | {times[0]} | {times[1]} | {accuracy} | {note} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
