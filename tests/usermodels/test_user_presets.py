"""A person's own presets: found in --presets-dir and the per-user folder, listed beside the shipped ones
and marked as theirs, in `fmtui presets` and in the monitor's menu, where they start like any other."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import OptionList

from fmtui.core.config.presets import all_presets, load_preset, user_presets_dir
from fmtui.core.errors import ConfigError
from fmtui.tui.monitor.launch import make_app
from fmtui.tui.monitor.screens.preset_menu import PresetMenu
from fmtui.tui.render.format import preset_text
from tests.support import tiny_preset, until
from tests.support.monitor_fakes import FakeTrainer, drive, run_script
from tests.usermodels.test_user_models import NET


@pytest.fixture
def config_home(tmp_path: Path, monkeypatch) -> Path:
    """XDG_CONFIG_HOME with a preset of the person's own, and its model file beside it."""
    home = tmp_path / "config"
    folder = home / "fmtui" / "presets"
    folder.mkdir(parents=True)
    (folder / "net.py").write_text(NET)
    (folder / "mine.toml").write_text(tiny_preset("my own CNN", model="net.py:Net"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    return folder


def test_the_per_user_folder_follows_xdg_config_home(monkeypatch, tmp_path):
    """~/.config/fmtui/presets by default, $XDG_CONFIG_HOME/fmtui/presets when that is set (and absolute)."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    assert user_presets_dir() == tmp_path / ".config" / "fmtui" / "presets"
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative")
    assert user_presets_dir() == tmp_path / ".config" / "fmtui" / "presets"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert user_presets_dir() == tmp_path / "xdg" / "fmtui" / "presets"


def test_your_presets_are_listed_after_the_shipped_ones_and_marked(config_home):
    """all_presets lists the shipped presets, then the person's, marked as theirs with their file."""
    infos = all_presets()
    assert [i.name for i in infos][-1] == "mine" and {i.name for i in infos} >= {"linear", "tinyvgg", "mine"}
    mine = infos[-1]
    assert mine.yours and mine.path == config_home / "mine.toml" and not any(i.yours for i in infos[:-1])
    assert mine.config.model == f"{config_home / 'net.py'}:Net"
    shown = preset_text(mine).plain
    assert f"yours: {config_home / 'mine.toml'}" in shown and "net.py:Net" in shown and str(config_home) in shown


def test_a_presets_dir_comes_first_and_a_missing_one_is_an_error(config_home, tmp_path):
    """--presets-dir's files are found by name before the per-user folder's and the shipped ones."""
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "linear.toml").write_text(tiny_preset("my linear", epochs=1))
    assert load_preset("linear", extra).description == "my linear"
    assert load_preset("linear").description != "my linear"
    listed = {i.name: i for i in all_presets(extra=extra)}
    assert listed["linear"].yours and listed["mine"].yours and not listed["tinyvgg"].yours
    with pytest.raises(ConfigError, match="--presets-dir .*nowhere: no such folder"):
        make_app(preset=None, presets_dir=tmp_path / "nowhere")


@drive
async def test_the_menu_starts_your_preset_with_your_model(config_home):
    """In the monitor's menu a person's preset is shown as theirs, and Enter starts it with their model."""
    started = []

    def factory(config, resume=None):
        started.append(config)
        return FakeTrainer(config, run_script(config, epochs_done=1, hold=False))

    app = make_app(preset=None, trainer_factory=factory)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, PresetMenu))
        options = app.screen.query_one(OptionList)
        index = next(i for i in range(options.option_count) if options.get_option_at_index(i).id == "mine")
        assert "yours:" in str(options.get_option_at_index(index).prompt)
        options.highlighted = index
        await pilot.press("enter")
        await until(pilot, lambda: bool(started))
    assert started[0].preset == "mine" and started[0].model == f"{config_home / 'net.py'}:Net"
