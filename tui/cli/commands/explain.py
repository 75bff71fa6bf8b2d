"""`fmtui explain`: why a run's model decides as it does, drawn in half blocks. What it learned (a linear
model's class templates beside the class means, a CNN's first-layer filters), where it looked for one
test image (--index), and what separates two classes it confuses (--pair); --json gives the maps as
numbers, --out DIR writes them as PNG files."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from fmtui.tui.cli.app import Debug, RunsDir, app, guarded, run_path
from fmtui.tui.cli.streams import console

METHOD_HELP = ("The model-agnostic map: ig (integrated gradients), occlusion or saliency; gradcam for Grad-CAM "
               "alone (CNNs). CNNs also get Grad-CAM beside it.")


@app.command("explain")
def explain(
    run: Annotated[Path, typer.Argument(help="A run directory, its best.pt, or a run id under --runs-dir. A live "
                                             "run's best.pt is its best epoch so far.", show_default=False)],
    index: Annotated[Optional[int], typer.Option("--index", metavar="N", show_default=False,
                                                 help="Explain test image N: where the model looked.")] = None,
    pair: Annotated[Optional[str], typer.Option("--pair", metavar="TRUE,SAID", show_default=False,
                                                help="Explain a confusion, e.g. --pair Shirt,T-shirt/top.")] = None,
    method: Annotated[str, typer.Option("--method", help=METHOD_HELP)] = "ig",
    json_: Annotated[bool, typer.Option("--json", help="Print the maps as numbers (28x28 lists), one JSON "
                                                       "object.")] = False,
    out: Annotated[Optional[Path], typer.Option("--out", metavar="DIR", show_default=False,
                                                help="Also write the pictures as PNG files there.")] = None,
    data_dir: Annotated[Optional[Path], typer.Option(
        "--data-dir", help="Where FashionMNIST lives. Default: where the run read it, else $FMTUI_DATA, else "
                           "~/.cache/fmtui.", show_default=False)] = None,
    runs_dir: RunsDir = Path("runs"),
    debug: Debug = False,
) -> None:
    """What a model learned, where it looked for one image, what separates two classes it confuses."""
    guarded(debug, lambda: explain_command(run_path(run, runs_dir), index=index, pair=pair, method=method,
                                           json_output=json_, out_dir=out, data_dir=data_dir))


def explain_command(path: Path, *, index: int | None, pair: str | None, method: str, json_output: bool,
                    out_dir: Path | None, data_dir: Path | None) -> int:
    # Late: torch and Captum load with these, and `fmtui --help` need not wait for them.
    from fmtui.core.errors import ConfigError
    from fmtui.core.explain.attributions import check_method, methods_for
    from fmtui.core.explain.loading import load_model, parse_pair

    if index is not None and pair is not None:
        raise ConfigError("--index and --pair: give one; --index explains one image, --pair a confusion.")
    if out_dir is not None and out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"--out {out_dir}: is a file; give a directory (it is created if absent).")
    loaded = load_model(path)
    check_method(loaded, method)
    cells = parse_pair(pair, loaded.class_names) if pair is not None else None
    methods = (method,) if method == "gradcam" else methods_for(loaded, method)
    data = _data(loaded, data_dir) if index is not None or cells is not None or not loaded.convolutions else None
    if index is not None:
        result, shown, files = _one_image(loaded, data, index, methods, out_dir)
    elif cells is not None:
        result, shown, files = _pair(loaded, data, cells, method, out_dir)
    else:
        result, shown, files = _learned(loaded, data, out_dir)
    about = {"run": str(loaded.checkpoint.path.parent), "checkpoint": str(loaded.checkpoint.path),
             "preset": loaded.checkpoint.config.preset, "model": loaded.name, "epoch": loaded.checkpoint.epoch,
             "class_names": list(loaded.class_names)}
    if json_output:
        print(json.dumps({**about, **result, **({"files": [str(f) for f in files]} if out_dir else {})}))
        return 0
    from rich.text import Text

    screen = console()  # preset names and paths are printed as they are, never read as markup
    screen.print(Text(f"{loaded.checkpoint.path.parent.name}: {about['preset']} ({loaded.name}), best weights "
                      f"of epoch {loaded.checkpoint.epoch}", overflow="fold"))
    screen.print(shown(screen.width))
    if files:
        screen.print(Text(f"wrote {len(files)} PNG file{'s' if len(files) != 1 else ''} to {out_dir}: "
                          + ", ".join(f.name for f in files)))
    return 0


def _data(loaded: Any, data_dir: Path | None) -> Any:
    from fmtui.core.data.fashion_mnist import load_fashion_mnist
    from fmtui.core.records.listing import data_dir_for

    return load_fashion_mnist(data_dir_for(loaded.checkpoint.path.parent, data_dir))


def _numbers(values: Any) -> list:
    """A map as JSON numbers: six decimals are more than any picture of it needs."""
    import numpy as np

    return np.round(np.asarray(values, dtype=np.float64), 6).tolist()


def _folder(out_dir: Path) -> Path:
    from fmtui.core.errors import ConfigError

    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"--out {out_dir}: cannot be created ({exc.strerror or exc}).") from None
    return out_dir


def _one_image(loaded: Any, data: Any, index: int, methods: tuple[str, ...], out_dir: Path | None) -> tuple:
    from fmtui.core.explain.learned import feature_maps
    from fmtui.core.explain.one_image import check_index, explain_image
    from fmtui.tui.render.explanations import image_view
    from fmtui.tui.render.heatmap_png import image_files

    images, labels = data.test_images.numpy(), data.test_labels.numpy()
    check_index(index, len(images))
    e = explain_image(loaded, images, labels, index, methods)
    features = feature_maps(loaded, e.image) if loaded.convolutions else None
    names = loaded.class_names
    result = {"index": index, "true": names[e.true], "predicted": names[e.predicted],
              "confidence": round(e.confidence, 6),
              "probabilities": {names[c]: round(float(p), 6) for c, p in enumerate(e.probabilities)},
              "image": e.image.tolist(),
              "maps": {m: {"method": m, "predicted": _numbers(a), "true": _numbers(b)} for m, (a, b) in e.maps.items()}}
    if features:
        result["feature_maps"] = [{"layer": f.layer, "side": f.side, "channels": f.channels, "shown": list(f.shown),
                                   "maps": _numbers(f.maps)} for f in features]
    files = image_files(_folder(out_dir), e, names) if out_dir is not None else []
    return result, lambda width: image_view(e, names, width, features=features), files


def _pair(loaded: Any, data: Any, cells: tuple[int, int], method: str, out_dir: Path | None) -> tuple:
    from fmtui.core.explain.pairs import explain_pair
    from fmtui.tui.render.explanations import pair_view
    from fmtui.tui.render.heatmap_png import pair_files

    with _progress("averaging the maps of the mistakes") as tell:
        p = explain_pair(loaded, data.test_images.numpy(), data.test_labels.numpy(), *cells, method,
                         means_from=(data.train_images.numpy(), data.train_labels.numpy()), progress=tell)
    names = loaded.class_names
    result = {"true": names[p.true], "predicted": names[p.predicted], "method": p.method,
              "mistakes": [int(i) for i in p.mistakes], "averaged": p.averaged,
              "means_from": "train", "mean_true": _numbers(p.mean_true), "mean_predicted": _numbers(p.mean_predicted),
              "difference": _numbers(p.difference),
              "average_map": _numbers(p.average_map) if p.average_map is not None else None}
    files = pair_files(_folder(out_dir), p, names) if out_dir is not None else []
    return result, lambda width: pair_view(p, names, width), files


def _learned(loaded: Any, data: Any, out_dir: Path | None) -> tuple:
    from fmtui.core.explain.learned import class_means, first_filters, templates
    from fmtui.tui.render.explanations import filters_view, templates_view
    from fmtui.tui.render.heatmap_png import filter_files, template_files

    names = loaded.class_names
    if loaded.convolutions:
        filters = first_filters(loaded)
        files = filter_files(_folder(out_dir), filters) if out_dir is not None else []
        return {"filters": _numbers(filters)}, lambda width: filters_view(filters, width), files
    weights = templates(loaded)
    means = class_means(data.train_images.numpy(), data.train_labels.numpy(), len(names))
    files = template_files(_folder(out_dir), weights, means, names) if out_dir is not None else []
    return ({"templates": _numbers(weights), "class_means": _numbers(means), "means_from": "train"},
            lambda width: templates_view(weights, means, names, width), files)


@contextmanager
def _progress(what: str) -> Iterator[Callable[[int, int], None]]:
    """A transient progress bar on stderr while the maps of many images are computed (a terminal only)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(TextColumn(what), BarColumn(), MofNCompleteColumn(), transient=True,
                  console=console(stderr=True), disable=not sys.stderr.isatty()) as bar:
        task = bar.add_task(what, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)
