"""How often a photo of a garment gets the class its 28 x 28 original gets, through `fmtui predict`'s
conversion (fmtui.core.predict.convert).

Takes N test-set images (seeded), makes each a photo-like file (tests/predict/photos.py: enlarged 4-10x,
inverted onto a light tinted background, off centre on a canvas 1.3-2x larger, Gaussian noise; PNG and
JPEG in turn), converts the file back as `fmtui predict` does, and compares the run's prediction for the
photo with its prediction for the original. Prints the share per run; the last line is JSON.

    python bench/photo_agreement.py --run runs/<linear run> --run runs/<tinyvgg run> --data-dir ../shared/data
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fmtui.core.data.fashion_mnist import load_fashion_mnist  # noqa: E402
from fmtui.core.predict.convert import to_fashion_mnist  # noqa: E402
from fmtui.core.predict.model import Classifier  # noqa: E402
from tests.predict.photos import photo_like  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=Path, action="append", required=True, help="a run directory (repeatable)")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    data = load_fashion_mnist(args.data_dir, download=False)
    rng = np.random.default_rng(args.seed)
    chosen = rng.choice(len(data.test_images), size=args.images, replace=False)
    originals = data.test_images[chosen].numpy()
    with tempfile.TemporaryDirectory() as folder:
        converted = []
        for i, image in enumerate(originals):
            path = Path(folder) / (f"{i}.png" if i % 2 == 0 else f"{i}.jpg")
            photo_like(image, rng).save(path, **({"quality": 85} if path.suffix == ".jpg" else {}))
            converted.append(to_fashion_mnist(path))
    photos = np.stack(converted)
    results = {}
    for run in args.run:
        classifier = Classifier.from_run(run)
        original = classifier.probabilities(originals).argmax(1)
        photo = classifier.probabilities(photos).argmax(1)
        labels = data.test_labels[chosen].numpy()
        share = float((original == photo).mean())
        name = f"{classifier.checkpoint.config.preset} ({run.name})"
        results[name] = {"agreement": share, "original_accuracy": float((original == labels).mean()),
                         "photo_accuracy": float((photo == labels).mean()), "images": args.images}
        print(f"{name}: the photo gets the original's class for {share:.1%} of {args.images} images "
              f"(accuracy {results[name]['original_accuracy']:.1%} on the originals, "
              f"{results[name]['photo_accuracy']:.1%} on the photos)")
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
