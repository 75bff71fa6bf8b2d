"""Whether an exported ONNX model gives fmtui's own predictions: each run's best weights exported as
`fmtui export` writes them, run with onnxruntime on the whole test split (pixels 0-255, as the export
takes them), and compared image by image with `fmtui eval`'s predictions. The last line is JSON.

    python bench/export_agreement.py --run runs/<linear run> --run runs/<tinyvgg run> --data-dir ../shared/data
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from fmtui.core.data.fashion_mnist import load_fashion_mnist  # noqa: E402
from fmtui.core.data.splits import test_split  # noqa: E402
from fmtui.core.engine.evaluation import evaluate_checkpoint  # noqa: E402
from fmtui.core.export import class_names, export_onnx, run_onnx  # noqa: E402
from fmtui.core.records.checkpoints import load_checkpoint  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=Path, action="append", required=True, help="a run directory (repeatable)")
    parser.add_argument("--data-dir", type=Path, required=True)
    args = parser.parse_args()

    data = load_fashion_mnist(args.data_dir, download=False)
    test = test_split(data, torch.device("cpu"))
    pixels = test.images.float().numpy().reshape(-1, 1, 28, 28)
    results = {}
    for run in args.run:
        checkpoint = load_checkpoint(run)
        ours = evaluate_checkpoint(checkpoint, test, torch.device("cpu"))
        with tempfile.TemporaryDirectory() as folder:
            exported = export_onnx(checkpoint, Path(folder) / "model.onnx")
            logits = np.concatenate([run_onnx(exported.path, pixels[i:i + 1000])[0]
                                     for i in range(0, len(pixels), 1000)])
            names = class_names(exported.path)
        theirs = logits.argmax(1)
        agreement = float((theirs == ours.predictions).mean())
        name = f"{checkpoint.config.preset} ({run.name})"
        results[name] = {"agreement": agreement, "images": len(pixels),
                         "differing": int((theirs != ours.predictions).sum()),
                         "fmtui_accuracy": ours.accuracy, "onnx_accuracy": float((theirs == ours.labels).mean()),
                         "class_names": names}
        print(f"{name}: onnxruntime agrees with fmtui on {agreement:.2%} of {len(pixels):,} test images "
              f"({results[name]['differing']} differ); accuracy {ours.accuracy:.2%} in fmtui, "
              f"{results[name]['onnx_accuracy']:.2%} in onnxruntime")
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
