"""A run's best weights as an ONNX model to use outside fmtui, with fmtui's input scaling built in.

The exported model takes ``pixels``: float32, N x 1 x 28 x 28, values 0-255 as an 8-bit greyscale image
holds them, garment bright on black (a FashionMNIST image, or a photo made into one by `fmtui predict`'s
conversion); N is any batch size. It gives ``logits`` (N x 10) and ``probabilities`` (their softmax),
with the same mirror-image averaging as the run's evaluation where its config has ``tta_flip``. The
class names, in output order, are in the model's metadata (``class_names``, a JSON list), with the run's
preset, model and epoch.

Written with torch.onnx's exporter (torch.export-based, which needs onnxscript), then checked with
onnx's checker and against the PyTorch model with onnxruntime before it is moved into place.
"""

from __future__ import annotations

import importlib.util
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from fmtui.core.data.fashion_mnist import CLASS_NAMES, MEAN, STD
from fmtui.core.errors import FmtuiError
from fmtui.core.predict.model import checkpoint_model
from fmtui.core.records.checkpoints import Checkpoint

if TYPE_CHECKING:
    from torch import nn

NEEDED = ("onnx", "onnxruntime", "onnxscript")
OPSET = 18
# The largest difference in a logit between PyTorch and onnxruntime that still counts as the same model
# (float32 kernels sum in different orders); a wrong graph is off by whole units.
TOLERANCE = 1e-3


class ExportError(FmtuiError):
    """The model cannot be exported, or the export does not give the model's own answers."""


def check_installed() -> None:
    """ExportError naming the extra when onnx, onnxruntime or onnxscript is missing."""
    missing = [name for name in NEEDED if importlib.util.find_spec(name) is None]
    if missing:
        raise ExportError(f"exporting to ONNX needs {', '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} "
                          f"not installed: pip install 'fmtui[onnx]' (or pip install {' '.join(NEEDED)}).")


def _pixels_model(checkpoint: Checkpoint) -> nn.Module:
    """The checkpoint's model behind fmtui's input scaling and the run's test-time averaging."""
    import torch
    from torch import nn

    class Pixels(nn.Module):
        def __init__(self, model: nn.Module, tta_flip: bool) -> None:
            super().__init__()
            self.model, self.tta_flip = model, tta_flip

        def forward(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            x = (pixels / 255 - MEAN) / STD
            logits = self.model(x)
            if self.tta_flip:
                logits = (logits + self.model(x.flip(3))) / 2
            return logits, logits.softmax(1)

    return Pixels(checkpoint_model(checkpoint), checkpoint.config.tta_flip).eval()


@dataclass(frozen=True)
class Exported:
    path: Path
    max_difference: float  # largest logit difference, PyTorch against onnxruntime, on the check batch


def export_onnx(checkpoint: Checkpoint, out: Path) -> Exported:
    """Write ``out`` (whole or not at all) and check it; ExportError when the model cannot be exported."""
    check_installed()
    import onnx
    import torch

    model = _pixels_model(checkpoint)
    out = Path(out)
    if out.is_dir():
        raise ExportError(f"--out {out} is a folder; name the .onnx file to write.")
    if not out.parent.is_dir():
        raise ExportError(f"--out {out}: the folder {out.parent} does not exist.")
    temporary = str(out.with_name(f".{out.name}.{os.getpid()}.partial"))  # renamed into place once checked
    try:
        try:
            batch = torch.export.Dim("batch", min=1)
            torch.onnx.export(model, (torch.zeros(2, 1, 28, 28),), temporary, input_names=["pixels"],
                              output_names=["logits", "probabilities"], dynamic_shapes=({0: batch},),
                              opset_version=OPSET, dynamo=True, external_data=False, verbose=False)
        except Exception as exc:  # the exporter raises many kinds for code it cannot trace
            raise ExportError(f"the '{checkpoint.config.model}' model cannot be exported to ONNX: "
                              f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from exc
        proto = onnx.load(temporary)
        config = checkpoint.config
        for key, value in {"class_names": json.dumps(list(CLASS_NAMES)),
                           "input": "pixels: float32 N x 1 x 28 x 28, 0-255, garment bright on black",
                           "fmtui_preset": config.preset, "fmtui_model": config.model,
                           "fmtui_epoch": str(checkpoint.epoch)}.items():
            entry = proto.metadata_props.add()
            entry.key, entry.value = key, value
        proto.doc_string = "FashionMNIST classifier exported by fmtui"
        onnx.checker.check_model(proto)
        onnx.save(proto, temporary)
        difference = _check_against_torch(model, temporary)
        os.replace(temporary, out)
    finally:
        Path(temporary).unlink(missing_ok=True)
    return Exported(out, difference)


def _check_against_torch(model: nn.Module, path: str) -> float:
    """The largest logit difference on a batch of 5 (not the traced 2) random images; ExportError when it
    is more than float rounding."""
    import torch

    pixels = np.random.default_rng(0).integers(0, 256, size=(5, 1, 28, 28)).astype(np.float32)
    ours = model(torch.from_numpy(pixels))[0].detach().numpy()
    theirs = run_onnx(path, pixels)[0]
    difference = float(np.abs(ours - theirs).max())
    if not difference <= TOLERANCE:
        raise ExportError(f"the exported model does not give the model's own scores (off by up to {difference:.3g}); "
                          f"nothing was written.")
    return difference


def run_onnx(path: str | Path, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """An exported model's (logits, probabilities) for float32 pixels (N, 1, 28, 28) on 0-255, with
    onnxruntime on the CPU."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    logits, probabilities = session.run(["logits", "probabilities"], {"pixels": pixels.astype(np.float32)})
    return logits, probabilities


def class_names(path: str | Path) -> list[str]:
    """The class names an exported model carries in its metadata."""
    import onnxruntime

    meta = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"]).get_modelmeta()
    return json.loads(meta.custom_metadata_map["class_names"])
