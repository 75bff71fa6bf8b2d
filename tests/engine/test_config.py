"""Presets and flags: every bad value is rejected with a message naming the key and where it came from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fmtui.core.config.presets import load_preset, preset_names
from fmtui.core.config.settings import TrainConfig, describe_settings, parse_assignment, with_overrides
from fmtui.core.errors import ConfigError
from fmtui.core.models import model_names


def write_preset(tmp_path: Path, text: str, name: str = "mine") -> str:
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return str(path)


def test_shipped_presets_load_and_describe_themselves():
    """Every preset file loads cleanly and carries a one-line description; the article's two are there."""
    assert {"linear", "tinyvgg"} <= set(preset_names())
    for name in preset_names():
        config = load_preset(name)
        assert config.preset == name and config.description and "\n" not in config.description
    assert load_preset("linear").model == "linear" and load_preset("tinyvgg").model == "tinyvgg"
    assert not load_preset("linear").flip, "augmentation is off for the linear baseline"


def test_every_setting_says_why_it_exists():
    """`fmtui presets --settings` lists every setting with its default and its own reason: a sentence of
    several words that is not another setting's and does more than repeat the name."""
    from tests.cli.test_cli import invoke

    settings = describe_settings()
    reasons = [why for _, _, why in settings]
    assert len(set(reasons)) == len(reasons), "two settings share one reason"
    for name, _, why in settings:
        words = why.replace("_", " ").split()
        assert len(words) >= 4 and why.rstrip(")").endswith("."), (name, why)
        assert why.lower().rstrip(".") != name.replace("_", " "), name
    result = invoke("presets", "--settings")
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())  # the table wraps long reasons
    for name, _, why in settings:
        assert f"{name} " in flat and " ".join(why.split()) in flat, name


@pytest.mark.parametrize("text, fragment", [
    ('model = "linear"\nlearning_rate = 0.1\n', "learning_rate: unknown setting (did you mean 'lr'?)"),
    ('epochs = "ten"\n', "epochs = 'ten': expected a whole number"),
    ("epochs = 2.5\n", "epochs = 2.5: expected a whole number"),
    ("flip = 1\n", "flip = 1: expected true or false"),
    ("lr = 0\n", "lr = 0: must be a finite number greater than 0"),
    ("lr = -0.1\n", "lr = -0.1: must be a finite number greater than 0"),
    ("epochs = 0\n", "epochs = 0: must be between 1 and 10000"),
    ("batch_size = 0\n", "batch_size = 0: must be at least 1"),
    ("dropout = 1.0\n", "dropout = 1.0: must be at least 0 and below 1"),
    ('schedule = "triangle"\n', "schedule = 'triangle': must be one of constant, step, cosine, onecycle, linear"),
    ('select = "f1"\n', "select = 'f1': must be one of loss, accuracy"),
    ('model = "vgg19"\n', f"model = 'vgg19': unknown model; choose one of {', '.join(model_names())}"),
    ("epochs = \n", "not valid TOML"),
    ("[training]\nepochs = 3\n", "[training]: presets are flat"),
])
def test_bad_preset_values_name_the_key_and_the_file(tmp_path, text, fragment):
    """Unknown keys, wrong types, out-of-range values and broken TOML each get a precise message."""
    path = write_preset(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_preset(path)
    assert path in str(info.value)
    assert fragment in str(info.value)


def test_unknown_preset_name_lists_the_available_ones():
    """A typo in a preset name suggests the closest preset and lists them all."""
    with pytest.raises(ConfigError, match="unknown preset 'tinyvg'. Did you mean 'tinyvgg'") as info:
        load_preset("tinyvg")
    assert f"Available presets: {', '.join(preset_names())} " in str(info.value)


def test_flags_override_the_preset_and_errors_name_the_flag():
    """CLI values replace preset values; a bad one is reported by its flag name."""
    config = load_preset("tinyvgg")
    changed = with_overrides(config, {"epochs": 2, "lr": 0.01, "batch_size": None})
    assert (changed.epochs, changed.lr, changed.batch_size) == (2, 0.01, config.batch_size)
    with pytest.raises(ConfigError, match=r"--batch-size = -3: must be at least 1"):
        with_overrides(config, {"batch_size": -3})
    with pytest.raises(ConfigError, match=r"--device = 'gpu': must be auto, cpu, cuda or cuda:N"):
        with_overrides(config, {"device": "gpu"})


def test_set_assignments_parse_toml_values():
    """--set KEY=VALUE reads numbers and booleans as TOML, anything else as a string."""
    assert parse_assignment("dropout=0.2") == ("dropout", 0.2)
    assert parse_assignment("flip = true") == ("flip", True)
    assert parse_assignment("schedule=cosine") == ("schedule", "cosine")
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        parse_assignment("dropout")


@pytest.mark.parametrize("preset", preset_names())
def test_config_round_trips_through_a_dict(preset):
    """A recorded config reads back identical, for every preset (an empty list, such as the default convs,
    included: a checkpoint records its config and an evaluation reads it back)."""
    config = load_preset(preset)
    assert TrainConfig.from_dict(config.to_dict(), "record") == config
    assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict())), "record") == config
