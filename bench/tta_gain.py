"""What flip test-time augmentation is worth, measured on the validation split (never the test split).

Evaluates a run's best checkpoint on the run's own validation split twice, with and without averaging
each image with its mirror image, and prints both accuracies and losses; the last line is JSON.

    python bench/tta_gain.py --run runs/<run> --data-dir ../shared/data
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fmtui.core.data.fashion_mnist import load_fashion_mnist
from fmtui.core.data.splits import make_splits  # noqa: E402
from fmtui.core.engine.loop import evaluate, resolve_device, uses_bf16  # noqa: E402
from fmtui.core.models import build_model, model_spec  # noqa: E402
from fmtui.core.records.checkpoints import load_checkpoint  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=Path, required=True, help="a run directory (or its best.pt)")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()

    checkpoint = load_checkpoint(args.run)
    config = checkpoint.config
    device = resolve_device(args.device)
    splits = make_splits(load_fashion_mnist(args.data_dir, download=False), val_size=config.val_size,
                         train_subset=config.train_subset, batch_size=config.batch_size, device=device)
    channels_last = model_spec(config.model).channels_last
    model = build_model(config)
    model.load_state_dict(checkpoint.state_dict)
    model = model.to(device)
    results = {}
    for tta in (False, True):
        e = evaluate(model, splits.val, device=device, channels_last=channels_last, tta_flip=tta,
                     bf16=uses_bf16(device, config.cpu_precision, channels_last))
        results["flip_tta" if tta else "plain"] = {"val_accuracy": e.accuracy, "val_loss": e.loss}
        print(f"{'with' if tta else 'without':>7} flip TTA: validation accuracy {e.accuracy:.2%}, loss {e.loss:.4f}",
              file=sys.stderr)
    gain = results["flip_tta"]["val_accuracy"] - results["plain"]["val_accuracy"]
    print(json.dumps({"run": str(checkpoint.path), "epoch": checkpoint.epoch, "gain": gain, **results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
