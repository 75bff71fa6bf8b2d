"""`fmtui predict`: a run's best weights on photos of a person's own garments, each made into a
FashionMNIST image the way the data set was made (fmtui.core.predict.convert), shown as the model sees it
beside its three likeliest classes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from fmtui.tui.cli.app import Debug, Run, RunsDir, app, guarded, run_path, warn_of_source
from fmtui.tui.cli.streams import console

TOP = 3


@app.command()
def predict(
    run: Run,
    images: Annotated[list[Path], typer.Argument(help="PNG or JPEG photos, one garment each, on a light "
                                                      "background.", show_default=False)],
    runs_dir: RunsDir = Path("runs"),
    json_: Annotated[bool, typer.Option("--json", help="Print the predictions as one JSON object.")] = False,
    debug: Debug = False,
) -> None:
    """Classify photos with a run's best weights: each shown as the 28x28 picture the model sees, with its
    three likeliest classes."""
    guarded(debug, lambda: predict_command(run_path(run, runs_dir), images, json_output=json_))


def predict_command(run: Path, images: list[Path], *, json_output: bool) -> int:
    # Late: torch and Pillow load with these, and `fmtui --help` need not wait for them.
    import numpy as np
    from rich.text import Text

    from fmtui.core.predict.convert import to_fashion_mnist
    from fmtui.core.predict.model import Classifier
    from fmtui.core.records.checkpoints import load_checkpoint
    from fmtui.tui.render.prediction import prediction_view

    checkpoint = load_checkpoint(run)
    warn_of_source(checkpoint)
    # Every photo converted before anything is printed: one that cannot be used stops the command whole.
    inputs = np.stack([to_fashion_mnist(path) for path in images])
    guesses = Classifier(checkpoint).guesses(inputs, top=TOP)
    if json_output:
        print(json.dumps({"checkpoint": str(checkpoint.path), "preset": checkpoint.config.preset,
                          "predictions": [{"image": str(path),
                                           "top": [{"class": c, "confidence": p} for c, p in guess.named()]}
                                          for path, guess in zip(images, guesses)]}))
        return 0
    out = console()
    out.print(Text(f"{checkpoint.path}: {checkpoint.config.preset}, epoch {checkpoint.epoch}\n"))
    for path, image, guess in zip(images, inputs, guesses):
        out.print(prediction_view(str(path), image, guess.named()))
        out.print()
    return 0
