"""The models and their presets: every preset trains, settings shape the models, transfer learning's
weights load offline from the torch hub cache or fail with a message that says what to do."""

from __future__ import annotations

import json
import urllib.error
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from fmtui.core.config.presets import all_presets, load_preset
from fmtui.core.data.augment import Augment
from fmtui.core.engine import loop
from fmtui.core.errors import ConfigError, WeightsError
from fmtui.core.models import build_model, count_parameters, model_names, model_spec
from fmtui.core.models.resnet import BasicBlock, SqueezeExcite
from fmtui.core.models.tinyvgg import TinyVGG
from fmtui.core.records.run_dir import RunRecord
from fmtui.tui.cli import app
from tests.support import run_trainer
from tests.support.monitor_fakes import drive

PRESETS = all_presets()
RESNET18_FILE = "resnet18-f37072fd.pth"  # the name torchvision's weights API caches them under


@pytest.fixture
def imagenet_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A TORCH_HOME holding a stand-in for ResNet-18's ImageNet weights, written by the test."""
    from torchvision.models import resnet18

    home = tmp_path / "torch-home"
    (home / "hub" / "checkpoints").mkdir(parents=True)
    torch.manual_seed(1)
    torch.save(resnet18(weights=None).state_dict(), home / "hub" / "checkpoints" / RESNET18_FILE)
    monkeypatch.setenv("TORCH_HOME", str(home))
    return home / "hub" / "checkpoints" / RESNET18_FILE


@pytest.fixture
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty TORCH_HOME and no network: a download fails as it does on a machine without one."""
    import torchvision.models._api as weights_api

    def no_network(url, *args, **kwargs):
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(weights_api, "load_state_dict_from_url", no_network)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty-home"))
    return tmp_path / "empty-home" / "hub" / "checkpoints" / RESNET18_FILE


def test_every_model_has_a_preset_and_every_preset_a_known_model():
    """Each model in the registry is offered by at least one preset, and each preset file loads."""
    assert all(info.config is not None for info in PRESETS), [info.problem for info in PRESETS]
    assert {info.config.model for info in PRESETS} == set(model_names())


@pytest.mark.parametrize("info", PRESETS, ids=lambda info: info.name)
def test_each_preset_states_the_parameters_of_the_model_it_builds(info, imagenet_cache):
    """The parameter count a preset file states (shown in the menu) is the built model's, so it cannot go stale."""
    model = build_model(info.config)
    assert info.measured.get("parameters") == count_parameters(model)
    assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
    assert model_spec(info.config.model).summary(info.config)


@pytest.mark.parametrize("info", PRESETS, ids=lambda info: info.name)
def test_each_preset_trains_a_few_batches_on_tiny_data(info, tiny_data, runs_dir, imagenet_cache):
    """Every preset runs end to end, as a person would start it, on a few batches of tiny data."""
    config = replace(info.config, epochs=1, batch_size=16, train_subset=48, val_size=50, device="cpu",
                     freeze_epochs=min(info.config.freeze_epochs, 1))
    outcome, events = run_trainer(config, tiny_data, runs_dir)
    assert outcome.status == "finished", outcome.error
    assert outcome.test_accuracy is not None
    assert RunRecord(outcome.run_dir).read_summary().parameters == info.measured["parameters"]


def test_squeeze_and_excitation_is_a_setting():
    """se = true puts a gate in every residual block; se = false leaves none, and costs fewer parameters."""
    base = replace(load_preset("resnet"), widths=(8, 16), blocks=(1, 2))
    with_se, without = build_model(replace(base, se=True)), build_model(replace(base, se=False))
    blocks = [m for m in with_se.modules() if isinstance(m, BasicBlock)]
    assert len(blocks) == 3 and all(isinstance(b.se, SqueezeExcite) for b in blocks)
    assert not any(isinstance(m, SqueezeExcite) for m in without.modules())
    assert count_parameters(with_se) > count_parameters(without)
    assert with_se(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


def test_depth_and_width_are_settings():
    """blocks sets the residual blocks per stage and widths their channels; tinyvgg takes widths too."""
    deep = build_model(replace(load_preset("resnet"), widths=(8, 16, 24), blocks=(1, 3, 2)))
    assert sum(isinstance(m, BasicBlock) for m in deep.modules()) == 6
    assert deep.head[-1].in_features == 24
    narrow = build_model(replace(load_preset("tinyvgg"), widths=(8, 16)))
    assert isinstance(narrow, TinyVGG) and len(narrow.features) == 2
    assert narrow.head[-1].in_features == 16 * 7 * 7  # two blocks: 28 -> 14 -> 7
    assert narrow(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


def test_convs_sets_the_conv_layers_of_each_tinyvgg_block():
    """convs = [1, 2, 2] gives the 28x28 block one conv layer and the others two; the default is two each,
    with the article's layer names, so checkpoints of earlier runs still load."""
    article = build_model(load_preset("tinyvgg"))
    lean = build_model(replace(load_preset("tinyvgg"), convs=(1, 2, 2)))
    convs_per_block = [sum(isinstance(m, torch.nn.Conv2d) for m in block) for block in lean.features]
    assert convs_per_block == [1, 2, 2]
    assert [sum(isinstance(m, torch.nn.Conv2d) for m in block) for block in article.features] == [2, 2, 2]
    assert lean(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
    assert "features.0.3.weight" in article.state_dict()  # the block's second conv, where it always was
    assert count_parameters(lean) == count_parameters(article) - 32 * 32 * 9 - 2 * 32


def test_a_tinyvgg_needs_one_conv_count_per_block(tiny_data, runs_dir):
    """convs and widths of different lengths are refused before any data loads, naming both settings."""
    config = replace(load_preset("fast"), convs=(1, 2), device="cpu")
    outcome, _ = run_trainer(config, tiny_data, runs_dir)
    assert outcome.status == "failed" and outcome.user_error
    assert "convs = [1, 2]: tinyvgg needs one entry per block of widths = [16, 32, 128]" in outcome.error
    assert outcome.run_dir is None


def test_a_resnet_needs_one_block_count_per_stage(tiny_data, runs_dir):
    """blocks and widths of different lengths are refused before any data loads, naming both settings."""
    config = replace(load_preset("resnet"), widths=(8, 16), blocks=(1, 1, 1), device="cpu")
    outcome, events = run_trainer(config, tiny_data, runs_dir)
    assert outcome.status == "failed" and outcome.user_error
    assert "blocks = [1, 1, 1]: resnet needs one entry per stage of widths = [8, 16]" in outcome.error
    assert outcome.run_dir is None, "nothing is written for a run that cannot start"


def test_lists_are_checked_like_any_other_setting(tmp_path):
    """widths must be a list of 1 to 4 whole numbers; the message names the file and the key."""
    for text, message in (("widths = 32", "expected a list of whole numbers"),
                          ("widths = [32, 64, 128, 256, 512]", "must list 1 to 4 stages"),
                          ("widths = []", "must list 1 to 4 stages"),
                          ("blocks = [2, 0]", "every entry must be at least 1"),
                          ("convs = [1, 0, 2]", "every entry must be at least 1")):
        path = tmp_path / "bad.toml"
        path.write_text(f'model = "resnet"\n{text}\n')
        with pytest.raises(ConfigError, match=message) as info:
            load_preset(str(path))
        assert str(path) in str(info.value)


def test_the_transfer_model_starts_from_the_cached_imagenet_weights(imagenet_cache):
    """Its grey stem is the colour stem summed over R, G, B, and every other pretrained layer is as saved."""
    saved = torch.load(imagenet_cache, weights_only=True)
    model = build_model(load_preset("transfer"))
    stem = model.backbone[0].weight
    assert stem.shape == (64, 1, 7, 7)
    assert torch.allclose(stem, saved["conv1.weight"].sum(dim=1, keepdim=True))
    assert torch.equal(model.backbone[6][1].conv2.weight, saved["layer4.1.conv2.weight"])
    scratch = build_model(load_preset("transfer-scratch"))
    assert not torch.equal(scratch.backbone[6][1].conv2.weight, saved["layer4.1.conv2.weight"])


def test_pretrained_layers_learn_slower_and_wait_while_frozen(imagenet_cache, tiny_data, runs_dir):
    """The backbone gets backbone_lr x lr; during freeze_epochs only the new head changes."""
    from fmtui.core.engine.loop import make_optimizer

    config = replace(load_preset("transfer"), backbone_lr=0.1, lr=0.01)
    optimizer = make_optimizer(build_model(config), config)
    assert [group["lr"] for group in optimizer.param_groups] == [pytest.approx(0.001), 0.01]
    config = replace(config, epochs=1, freeze_epochs=1, batch_size=16, train_subset=48, val_size=50, device="cpu",
                     ema=0.0)
    outcome, _ = run_trainer(config, tiny_data, runs_dir)
    trained = torch.load(Path(outcome.run_dir) / "last.pt", weights_only=True)["model"]
    saved = torch.load(imagenet_cache, weights_only=True)
    assert torch.equal(trained["backbone.6.1.conv2.weight"], saved["layer4.1.conv2.weight"]), "frozen"
    initial = build_model(config).state_dict()
    assert not torch.equal(trained["head.3.weight"], initial["head.3.weight"]), "the head trained"


def test_without_network_or_weights_file_the_transfer_preset_says_where_to_put_it(offline, tiny_data, tmp_path):
    """Offline and uncached: exit 2 naming the missing file, its size and where it goes (TORCH_HOME honoured)."""
    result = CliRunner().invoke(app, ["train", "--preset", "transfer", "--data-dir", str(tiny_data),
                                      "--runs-dir", str(tmp_path / "runs")], catch_exceptions=False)
    assert result.exit_code == 2
    message = " ".join(result.stderr.split())
    assert f"not in {offline}" in message and "Name or service not known" in message
    assert "https://download.pytorch.org/models/resnet18-f37072fd.pth (about 44.7 MB)" in message
    assert "TORCH_HOME" in message and "Traceback" not in result.stderr
    assert not (tmp_path / "runs").exists(), "nothing is left behind"


def test_a_damaged_weights_file_is_reported(imagenet_cache):
    """A cached file that is not ResNet-18's weights is named, with what to do, instead of a loader error."""
    imagenet_cache.write_bytes(b"not a checkpoint")
    with pytest.raises(WeightsError, match=f"{imagenet_cache} is not a readable ResNet-18 weights file"):
        build_model(load_preset("transfer"))
    torch.save({"fc.weight": torch.zeros(3)}, imagenet_cache)
    with pytest.raises(WeightsError, match="does not hold ResNet-18's ImageNet weights"):
        build_model(load_preset("transfer"))


def test_a_wrong_shaped_checkpoint_for_a_resnet_is_refused(tiny_data, tmp_path):
    """A resnet best.pt whose config names other widths is rejected with what differs, exit 2."""
    runner = CliRunner()
    result = runner.invoke(app, ["train", "--preset", "resnet", "--data-dir", str(tiny_data), "--runs-dir",
                                 str(tmp_path / "runs"), "--epochs", "1", "--set", "train_subset=32",
                                 "--set", "batch_size=16", "--set", "val_size=50", "--set", "widths=[8, 16, 24]",
                                 "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    run_dir = Path(json.loads(result.stdout.splitlines()[-1])["run_dir"])
    checkpoint = torch.load(run_dir / "best.pt", weights_only=True)
    checkpoint["config"]["widths"] = [8, 16, 32]
    torch.save(checkpoint, tmp_path / "reshaped.pt")
    shown = runner.invoke(app, ["eval", str(tmp_path / "reshaped.pt"), "--data-dir", str(tiny_data)])
    assert shown.exit_code == 2
    message = " ".join(shown.stderr.split())
    assert "its weights do not fit the 'resnet' model" in message and "of another shape" in message


def test_random_erasing_replaces_a_rectangle_reproducibly():
    """erase = 1 puts noise in a rectangle of every image; the same seed erases the same places."""
    images = torch.zeros(8, 1, 28, 28)
    first = Augment(erase=1.0)(images, torch.Generator().manual_seed(3))
    again = Augment(erase=1.0)(images, torch.Generator().manual_seed(3))
    assert torch.equal(first, again)
    changed = (first != 0).flatten(1).sum(1)
    assert (changed > 0).all() and (changed < 0.4 * 28 * 28).all()
    assert torch.equal(Augment(erase=0.0)(images, torch.Generator()), images)


@drive
async def test_the_monitor_explains_missing_imagenet_weights(offline, tiny_data, runs_dir):
    """`fmtui --preset transfer` offline opens on the failure, naming the file to fetch and where it goes."""
    from fmtui.tui.monitor.launch import make_app
    from fmtui.tui.monitor.widgets.error import ErrorPanel
    from fmtui.tui.monitor.widgets.status import StatusLine

    app = make_app(preset="transfer", data_dir=tiny_data, runs_dir=runs_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        while app.query_one(StatusLine).state != "failed":
            await pilot.pause(0.05)
        panel = app.query_one(ErrorPanel)
        shown = " ".join(panel.message.split())
        assert panel.display and f"not in {offline}" in shown and "resnet18-f37072fd.pth" in shown
        assert app.internal_errors == []
    app.finish_runs()


def test_the_weight_average_follows_the_model_early_and_settles_at_its_decay():
    from fmtui.core.engine.loop import make_ema

    model = torch.nn.Sequential(torch.nn.Linear(4, 2), torch.nn.BatchNorm1d(2))
    ema = make_ema(model, 0.999)
    start = model[0].weight.detach().clone()
    ema.update_parameters(model)  # the first update copies
    with torch.no_grad():
        model[0].weight.add_(1.0)
    ema.update_parameters(model)
    # After one step the average has moved 1 - 2/11 of the way, not 0.1% as a fixed 0.999 would.
    torch.testing.assert_close(ema.module[0].weight, start + 9 / 11)
    ema.n_averaged.fill_(20_000)  # late in a run: (1 + n) / (10 + n) is past the decay
    before = ema.module[0].weight.detach().clone()
    with torch.no_grad():
        model[0].weight.add_(1.0)
    ema.update_parameters(model)
    torch.testing.assert_close(ema.module[0].weight, before + 0.001 * (model[0].weight - before))
    assert make_ema(model, 0.0) is None


def test_progressive_resizing_trains_the_first_epochs_on_smaller_images(tiny_data, runs_dir, monkeypatch):
    """resize_from = 24 over the first half: epoch 1 trains at 24x24, epoch 2 at 28x28, and every
    evaluation (validation, test) sees 28x28 images."""
    seen: list[tuple[bool, int]] = []
    original = loop.prepare_inputs

    def recording(*args, **kwargs):
        x = original(*args, **kwargs)
        seen.append((len(args) > 2 and args[2] is not None, x.shape[-1]))
        return x

    monkeypatch.setattr(loop, "prepare_inputs", recording)
    config = replace(load_preset("fast"), epochs=2, batch_size=50, val_size=100,
                     resize_from=24, resize_until=0.5, device="cpu")
    outcome, _ = run_trainer(config, tiny_data, runs_dir)
    assert outcome.status == "finished", outcome.error
    training = [side for train, side in seen if train]
    assert training == [24] * (len(training) // 2) + [28] * (len(training) // 2) and training
    assert {side for train, side in seen if not train} == {28}


def test_a_side_the_model_cannot_take_is_refused_before_the_data_loads(tiny_data, runs_dir):
    """tinyvgg's head reads a 3x3 map, which 20x20 images do not give: the run fails at once, naming the
    setting and the sides that work, and leaves no run directory."""
    config = replace(load_preset("fast"), resize_from=20, device="cpu")
    outcome, _ = run_trainer(config, tiny_data, runs_dir)
    assert outcome.status == "failed" and outcome.user_error
    assert "resize_from = 20: the model fails on 20x20 images" in outcome.error and "24 to 27" in outcome.error
    assert outcome.run_dir is None
