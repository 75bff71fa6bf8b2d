"""How long one explanation takes on the CPU: for each run, the model read from best.pt, the maps of one
test image computed (integrated gradients toward the said and the true class; for a CNN also Grad-CAM
and its feature maps) and drawn at 80 columns, four times; then a pair's explanation (predictions for the
whole test split, integrated gradients over the cell's mistakes) twice. Imports and data loading are not
counted. The last line is JSON.

    python bench/explain_time.py --run runs/<linear run> --run runs/<tinyvgg run> --data-dir ../shared/data
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
from rich.console import Console  # noqa: E402

from fmtui.core.data.fashion_mnist import load_fashion_mnist  # noqa: E402
from fmtui.core.explain.attributions import methods_for  # noqa: E402
from fmtui.core.explain.learned import feature_maps  # noqa: E402
from fmtui.core.explain.loading import load_model  # noqa: E402
from fmtui.core.explain.one_image import explain_image  # noqa: E402
from fmtui.core.explain.pairs import explain_pair  # noqa: E402
from fmtui.tui.render.explanations import image_view, pair_view  # noqa: E402


def draw(renderable) -> None:
    Console(file=io.StringIO(), width=80, color_system="truecolor").print(renderable)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", action="append", required=True, type=Path)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--index", type=int, default=4280, help="the test image (4280: a shirt both runs miss)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = load_fashion_mnist(args.data_dir, download=False)
    images, labels = data.test_images.numpy(), data.test_labels.numpy()
    means_from = (data.train_images.numpy(), data.train_labels.numpy())
    results = {}
    for run in args.run:
        one, pair = [], []
        for _ in range(4):
            start = time.perf_counter()
            loaded = load_model(run)
            e = explain_image(loaded, images, labels, args.index, methods_for(loaded))
            features = feature_maps(loaded, e.image) if loaded.convolutions else None
            draw(image_view(e, loaded.class_names, 80, features=features))
            one.append(time.perf_counter() - start)
        for _ in range(2):
            start = time.perf_counter()
            p = explain_pair(loaded, images, labels, 6, 0, "ig", means_from=means_from)  # Shirt -> T-shirt/top
            draw(pair_view(p, loaded.class_names, 80))
            pair.append(time.perf_counter() - start)
        results[str(run)] = {"model": loaded.name, "one_image_seconds": [round(t, 3) for t in one],
                             "one_image_median_after_first": round(statistics.median(one[1:]), 3),
                             "pair_seconds": [round(t, 2) for t in pair], "pair_mistakes": len(p.mistakes),
                             "pair_averaged": p.averaged}
        print(f"{loaded.name}: one image {results[str(run)]['one_image_median_after_first']:.2f} s "
              f"(first {one[0]:.2f} s), pair {min(pair):.1f}-{max(pair):.1f} s", file=sys.stderr)
    print(json.dumps({"threads": args.threads, "index": args.index, "runs": results}))


if __name__ == "__main__":
    main()
