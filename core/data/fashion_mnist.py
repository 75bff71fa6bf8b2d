"""FashionMNIST on the training device: find or download it, check it, split it, batch it.

The four IDX files are checked, then read directly into uint8 tensors that stay on the training
device; batches are sliced from those tensors and normalised there, so the training loop never
touches PIL or a per-sample transform. Not through torchvision's dataset class: it prefers a
FashionMNIST/processed/*.pt copy when one exists, and fmtui trains on exactly the files it checked.
"""

from __future__ import annotations

import os
import shutil
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from fmtui.core.errors import DataError

CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
MEAN, STD = 0.2860, 0.3530  # of the training pixels on [0, 1]
SIDE = 28

IMAGES_MAGIC, LABELS_MAGIC = 0x00000803, 0x00000801
FILES = {  # file name -> (train?, images?)
    "train-images-idx3-ubyte": (True, True),
    "train-labels-idx1-ubyte": (True, False),
    "t10k-images-idx3-ubyte": (False, True),
    "t10k-labels-idx1-ubyte": (False, False),
}

# The validation split is the same for every run, whatever its seed, so that runs compare fairly.
SPLIT_SEED = 0


def default_data_dir() -> Path:
    """FMTUI_DATA, else a per-user cache directory."""
    if env := os.environ.get("FMTUI_DATA"):
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "fmtui"


def raw_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "FashionMNIST" / "raw"


@dataclass(frozen=True)
class FashionMNIST:
    """The whole dataset as uint8 images (N, 28, 28) and int64 labels, on the CPU."""

    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    source: Path | None = None  # the data directory it was read from, recorded with each run trained on it


def load_fashion_mnist(data_dir: Path, *, download: bool = True) -> FashionMNIST:
    """Read the four IDX files under ``data_dir`` (torchvision's layout), downloading them if absent."""
    data_dir = Path(data_dir)
    raw = raw_dir(data_dir)
    missing = [name for name in FILES if not _present(raw / name)]
    if missing:
        if not download:
            raise DataError(_missing_message(data_dir, missing, "downloading is turned off"))
        _download(data_dir, missing)
    counts = {name: _check_idx(raw / name, images) for name, (_, images) in FILES.items()}
    for split in ("train", "t10k"):
        n_images, n_labels = counts[f"{split}-images-idx3-ubyte"], counts[f"{split}-labels-idx1-ubyte"]
        if n_images != n_labels:
            raise DataError(f"{raw / f'{split}-images-idx3-ubyte'} holds {n_images:,} images but "
                            f"{raw / f'{split}-labels-idx1-ubyte'} holds {n_labels:,} labels; "
                            f"the two files must come from the same release. {_REFETCH}")
    arrays = {name: _read_idx(raw / name, images, counts[name]) for name, (_, images) in FILES.items()}
    for name in ("train-labels-idx1-ubyte", "t10k-labels-idx1-ubyte"):
        labels = arrays[name]
        if int(labels.max()) >= len(CLASS_NAMES):
            raise DataError(f"{raw / name}: holds label {int(labels.max())}, but FashionMNIST has "
                            f"{len(CLASS_NAMES)} classes (0-9). {_REFETCH}")
    return FashionMNIST(arrays["train-images-idx3-ubyte"], arrays["train-labels-idx1-ubyte"].long(),
                        arrays["t10k-images-idx3-ubyte"], arrays["t10k-labels-idx1-ubyte"].long(),
                        source=data_dir.resolve())


_REFETCH = "Delete the file so fmtui downloads it again, or point --data-dir at a good copy."


def _unreadable(path: Path, exc: OSError) -> DataError:
    return DataError(f"{path}: cannot be read ({exc.strerror or exc}). Give this user read access to it (and "
                     f"to the directories above it), or point --data-dir or FMTUI_DATA at a readable copy.")


def _present(path: Path) -> bool:
    """Whether ``path`` is a file; DataError naming it where that cannot be told (a directory above it
    this user may not enter)."""
    try:
        return path.is_file()
    except OSError as exc:
        raise _unreadable(path, exc) from None


def _check_idx(path: Path, images: bool) -> int:
    """Check an IDX file's header and size against each other; return how many items it holds."""
    header_size = 16 if images else 8
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            header = f.read(header_size)
    except OSError as exc:  # a file of mode 000, say, as a user other than root sees it
        raise _unreadable(path, exc) from None
    if len(header) < header_size:
        raise DataError(f"{path}: truncated ({size} bytes, shorter than an IDX header). {_REFETCH}")
    magic, count = struct.unpack(">II", header[:8])
    expected_magic = IMAGES_MAGIC if images else LABELS_MAGIC
    if magic != expected_magic:
        what = "image" if images else "label"
        raise DataError(f"{path}: not an IDX {what} file (magic number 0x{magic:08x}, expected "
                        f"0x{expected_magic:08x}). {_REFETCH}")
    item_size = 1
    if images:
        rows, cols = struct.unpack(">II", header[8:16])
        if (rows, cols) != (SIDE, SIDE):
            raise DataError(f"{path}: holds {rows}x{cols} images; FashionMNIST's are {SIDE}x{SIDE}. {_REFETCH}")
        item_size = rows * cols
    expected = header_size + count * item_size
    if size != expected:
        state = "truncated" if size < expected else "longer than its header says"
        raise DataError(f"{path}: {state}: the header announces {count:,} items ({expected:,} bytes) but the "
                        f"file has {size:,} bytes. {_REFETCH}")
    if count == 0:
        raise DataError(f"{path}: holds no items. {_REFETCH}")
    return count


def _read_idx(path: Path, images: bool, count: int) -> torch.Tensor:
    """The ``count`` items of an IDX file that _check_idx has passed: (N, 28, 28) images or (N,) labels."""
    header_size, item_size = (16, SIDE * SIDE) if images else (8, 1)
    try:
        data = np.fromfile(path, dtype=np.uint8, count=count * item_size, offset=header_size)
    except OSError as exc:
        raise _unreadable(path, exc) from None
    except ValueError as exc:
        raise DataError(f"{path}: cannot be read ({exc}). {_REFETCH}") from None
    if len(data) != count * item_size:  # it changed since it was checked
        raise DataError(f"{path}: truncated while being read. {_REFETCH}")
    return torch.from_numpy(data.reshape(count, SIDE, SIDE) if images else data)


# Where the four files come from: the data set's own release (torchvision downloads the same files
# from a mirror of it).
SOURCE = "https://github.com/zalandoresearch/fashion-mnist (in data/fashion/)"


def _missing_message(data_dir: Path, missing: list[str], why: str) -> str:
    # The directory once, then the bare file names: lines that fit 80 columns, so the advice at the end
    # stays on screen in the monitor's error panel.
    listing = "\n".join(f"  {'missing' if name in missing else 'found  '} {name}" for name in FILES)
    return (f"FashionMNIST is not in {data_dir} and could not be downloaded ({why}).\n"
            f"fmtui expects these four files in {raw_dir(data_dir)}:\n{listing}\n"
            f"Zalando publishes them (as .gz archives) at {SOURCE}.\n"
            f"Copy them (or their .gz archives) there, or point --data-dir or FMTUI_DATA at a directory "
            f"that has FashionMNIST/raw/ inside.")


def _download(data_dir: Path, missing: list[str]) -> None:
    """Download through torchvision into a scratch directory, then move complete files into place.

    A failed or interrupted download leaves nothing behind in the data directory.
    """
    from torchvision.datasets import FashionMNIST as TorchvisionFashionMNIST

    raw = raw_dir(data_dir)
    try:
        raw.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=".fmtui-download-", dir=data_dir))
    except OSError as exc:
        raise DataError(_missing_message(data_dir, missing, f"cannot write there: {exc.strerror}")) from None
    try:
        # Archives already in raw/ are reused by torchvision (checked by MD5), so offline copies of
        # the .gz files are enough.
        (scratch / "FashionMNIST" / "raw").mkdir(parents=True)
        for name in raw.glob("*.gz"):
            try:
                shutil.copy2(name, scratch / "FashionMNIST" / "raw" / name.name)
            except OSError as exc:
                raise _unreadable(name, exc) from None
        try:
            TorchvisionFashionMNIST(str(scratch), train=True, download=True)
        except Exception as exc:  # torchvision raises RuntimeError/URLError/OSError for network trouble
            reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
            raise DataError(_missing_message(data_dir, missing, reason)) from None
        try:
            for name in missing:
                os.replace(scratch / "FashionMNIST" / "raw" / name, raw / name)
        except OSError as exc:
            raise DataError(_missing_message(data_dir, missing, f"cannot write there: {exc.strerror}")) from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


# --- splits on the device --------------------------------------------------------------------------
