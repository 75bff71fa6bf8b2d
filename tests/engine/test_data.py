"""Loading, checking and splitting FashionMNIST, on IDX files the tests write themselves."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from fmtui.core.data.augment import Augment, progressive_side, scaled
from fmtui.core.data.fashion_mnist import FILES, load_fashion_mnist, raw_dir
from fmtui.core.data.splits import batches, make_splits, normalize
from fmtui.core.errors import ConfigError, DataError
from tests.support import write_idx


@pytest.fixture
def data_copy(tiny_data: Path, tmp_path: Path) -> Path:
    """A private copy of the tiny data set that a test may damage."""
    return Path(shutil.copytree(tiny_data, tmp_path / "data"))


def test_loads_through_torchvision_into_uint8_tensors(tiny_data):
    """The four IDX files become uint8 images and int64 labels of the right shapes."""
    data = load_fashion_mnist(tiny_data, download=False)
    assert data.train_images.shape == (400, 28, 28) and data.train_images.dtype == torch.uint8
    assert data.test_labels.shape == (100,) and data.test_labels.dtype == torch.int64
    assert sorted(np.bincount(data.train_labels.numpy())) == [40] * 10


def test_missing_data_names_the_directory_and_the_four_files(tmp_path, monkeypatch):
    """No data and no network: the message names the directory and each expected file; nothing is left behind."""
    import torchvision.datasets

    def offline(*args, **kwargs):
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz:\n<urlopen error no network>")

    monkeypatch.setattr(torchvision.datasets, "FashionMNIST", offline)
    target = tmp_path / "empty"
    with pytest.raises(DataError) as info:
        load_fashion_mnist(target)
    message = str(info.value)
    assert str(target) in message and "no network" in message
    for name in FILES:
        assert name in message
    assert [p.name for p in target.rglob("*") if p.is_file()] == []
    assert not list(target.glob(".fmtui-download-*")), "the scratch download directory is removed"


def test_downloaded_files_are_moved_into_place(tmp_path, tiny_data, monkeypatch):
    """A successful download leaves the four files in torchvision's layout, and no scratch directory."""
    import torchvision.datasets

    real = torchvision.datasets.FashionMNIST

    def fake_download(root, train=True, download=False):
        if download:  # stands in for the network
            shutil.copytree(raw_dir(tiny_data), raw_dir(Path(root)), dirs_exist_ok=True)
        return real(root, train=train, download=False)

    monkeypatch.setattr(torchvision.datasets, "FashionMNIST", fake_download)
    target = tmp_path / "fresh"
    assert len(load_fashion_mnist(target).train_labels) == 400
    assert sorted(p.name for p in raw_dir(target).iterdir()) == sorted(FILES)
    assert [p.name for p in target.iterdir()] == ["FashionMNIST"]


@pytest.mark.parametrize("damage, fragment", [
    (lambda raw: (raw / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x01" + b"\x00" * 40),
     "not an IDX image file (magic number 0x00000801, expected 0x00000803)"),
    (lambda raw: _truncate(raw / "train-images-idx3-ubyte", 1000), "truncated: the header announces 400 items"),
    (lambda raw: _truncate(raw / "t10k-labels-idx1-ubyte", 4), "truncated (4 bytes, shorter than an IDX header)"),
    (lambda raw: write_idx(raw / "train-labels-idx1-ubyte", np.zeros(399, dtype=np.uint8)),
     "holds 400 images but"),
    (lambda raw: write_idx(raw / "t10k-labels-idx1-ubyte", np.full(100, 12, dtype=np.uint8)),
     "holds label 12"),
    (lambda raw: write_idx(raw / "t10k-images-idx3-ubyte", np.zeros((100, 32, 32), dtype=np.uint8)),
     "holds 32x32 images"),
])
def test_damaged_files_are_named_with_what_is_wrong(data_copy, damage, fragment):
    """Wrong magic number, wrong size, wrong count and bad labels each name the file and the fault."""
    damage(raw_dir(data_copy))
    with pytest.raises(DataError) as info:
        load_fashion_mnist(data_copy, download=False)
    assert fragment in str(info.value)
    assert str(raw_dir(data_copy)) in str(info.value)


def _truncate(path: Path, size: int) -> None:
    path.write_bytes(path.read_bytes()[:size])


def test_validation_split_is_stratified_and_fixed(tiny_data):
    """The held-out split has every class in proportion and is the same for every run."""
    data = load_fashion_mnist(tiny_data, download=False)
    a = make_splits(data, val_size=100, train_subset=0, batch_size=32, device=torch.device("cpu"))
    b = make_splits(data, val_size=100, train_subset=0, batch_size=32, device=torch.device("cpu"))
    assert (len(a.train), len(a.val), len(a.test)) == (300, 100, 100)
    assert np.bincount(a.val.labels.numpy()).tolist() == [10] * 10
    assert torch.equal(a.val.images, b.val.images)
    assert a.train.images.shape[1:] == (1, 28, 28)


def test_split_sizes_are_checked_against_the_data(tiny_data):
    """A validation split or batch larger than the data is a configuration error, not a crash."""
    data = load_fashion_mnist(tiny_data, download=False)
    cpu = torch.device("cpu")
    with pytest.raises(ConfigError, match="val_size = 400 is not smaller than the training file's 400 images"):
        make_splits(data, val_size=400, train_subset=0, batch_size=32, device=cpu)
    with pytest.raises(ConfigError, match=r"batch_size = 500 is larger than the training split \(350 images\)"):
        make_splits(data, val_size=50, train_subset=0, batch_size=500, device=cpu)


def test_batches_cover_the_split_and_shuffle_reproducibly(tiny_data):
    """Unshuffled batches cover every image once; a seeded generator gives the same order twice."""
    data = load_fashion_mnist(tiny_data, download=False)
    split = make_splits(data, val_size=50, train_subset=0, batch_size=32, device=torch.device("cpu")).train
    assert sum(len(y) for _, y in batches(split, 64)) == 350
    assert sum(len(y) for _, y in batches(split, 64, drop_last=True)) == 320
    first = [y for _, y in batches(split, 64, generator=torch.Generator().manual_seed(3))]
    second = [y for _, y in batches(split, 64, generator=torch.Generator().manual_seed(3))]
    assert all(torch.equal(a, b) for a, b in zip(first, second))


def test_normalisation_uses_the_published_statistics():
    """Black maps to -mean/std and white to (1-mean)/std."""
    x = normalize(torch.tensor([0, 255], dtype=torch.uint8))
    assert torch.allclose(x, torch.tensor([-0.2860 / 0.3530, (1 - 0.2860) / 0.3530]))


def test_augmentation_flips_shifts_and_keeps_the_background_black():
    """A flip mirrors exactly; shifts move content by whole pixels and fill with black."""
    image = torch.zeros(1, 1, 28, 28)
    image[0, 0, 10, 3] = 1.0
    flipped = Augment(flip=True)(image.repeat(64, 1, 1, 1), torch.Generator().manual_seed(0))
    mirrored = [torch.allclose(f, image[0].flip(2), atol=1e-5) for f in flipped]
    unchanged = [torch.allclose(f, image[0], atol=1e-5) for f in flipped]
    assert all(m or u for m, u in zip(mirrored, unchanged)) and 10 < sum(mirrored) < 54
    shifted = Augment(shift=2)(image.repeat(64, 1, 1, 1), torch.Generator().manual_seed(0))
    for s in shifted:
        (row, col), = (s[0] > 0.99).nonzero().tolist()
        assert abs(row - 10) <= 2 and abs(col - 3) <= 2
        assert s.sum().item() == pytest.approx(1.0, abs=1e-4)
    rotated = Augment(rotate=15)(torch.rand(8, 1, 28, 28), torch.Generator().manual_seed(0))
    assert rotated.shape == (8, 1, 28, 28) and rotated.min() >= 0 and rotated.max() <= 1


def test_progressive_resizing_grows_the_side_to_full_size_and_ends_there():
    """From resize_from in the first epoch, a pixel or so an epoch, to 28 at resize_until of the run; the
    last epochs always train at the size the model is scored at; 0 is off."""
    sides = [progressive_side(24, 0.5, epoch, 10) for epoch in range(1, 11)]
    assert sides == [24, 24, 25, 26, 27, 28, 28, 28, 28, 28]
    assert [progressive_side(0, 0.5, epoch, 10) for epoch in range(1, 11)] == [28] * 10
    for epochs in (1, 2, 3, 7, 15):
        for until in (0.1, 0.5, 0.99):
            ramp = [progressive_side(20, until, epoch, epochs) for epoch in range(1, epochs + 1)]
            assert ramp[-1] == 28 and ramp == sorted(ramp) and min(ramp) >= 20


def test_scaling_shrinks_a_batch_and_keeps_its_brightness():
    """A smaller side keeps the picture (a bright square stays bright, the background black); the full
    side is left alone."""
    images = torch.zeros(4, 1, 28, 28)
    images[:, :, 7:21, 7:21] = 1.0
    small = scaled(images, 24)
    assert small.shape == (4, 1, 24, 24)
    assert small.mean().item() == pytest.approx(images.mean().item(), rel=0.05)
    assert small[:, :, 12, 12].min() > 0.99 and small[:, :, 0, 0].max() == 0
    assert scaled(images, 28) is images
