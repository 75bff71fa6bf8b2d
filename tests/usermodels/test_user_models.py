"""A model of the person's own, named as file.py:Class: it trains, records, resumes, evaluates and compares
as a built-in one; a file that cannot be used is an error naming its file and line, and nothing is recorded."""

from __future__ import annotations

import json
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from fmtui.core.config.presets import load_preset, read_preset
from fmtui.core.engine.events import EpochEnded, RunStarted
from fmtui.core.engine.trainer import Trainer, resume_config
from fmtui.core.errors import ConfigError
from fmtui.core.models import build_model, count_parameters
from fmtui.core.records.checkpoints import load_checkpoint, source_problem
from fmtui.core.records.run_dir import RunRecord
from fmtui.tui.cli import app
from tests.support import run_trainer, tiny_preset

NET = '''\
from torch import nn


class Net(nn.Module):
    """A small CNN of the person's own."""

    def __init__(self, widths=(4,), dropout=0.0, kernel=3):
        super().__init__()
        self.widths, self.dropout = tuple(widths), dropout
        self.body = nn.Sequential(nn.Conv2d(1, widths[0], kernel, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                  nn.Flatten(), nn.Dropout(dropout), nn.Linear(widths[0] * 14 * 14, 10))

    def forward(self, x):
        return self.body(x)
'''


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "net.py").write_text(NET)
    (folder / "net.toml").write_text(tiny_preset(model="net.py:Net", widths=[6], dropout=0.25, epochs=2))
    return folder


def test_a_preset_names_a_model_file_relative_to_itself_and_its_settings_reach_the_model(model_dir, monkeypatch,
                                                                                       tmp_path):
    """model = "net.py:Net" is found beside the preset from any folder, recorded absolute, and the class is
    called with the settings its parameters name."""
    monkeypatch.chdir(tmp_path)
    config = load_preset(str(model_dir / "net.toml"))
    assert config.model == f"{model_dir / 'net.py'}:Net"
    model = build_model(config)
    assert model.widths == (6,) and model.dropout == 0.25


def test_a_user_model_trains_records_its_source_and_evaluates(model_dir, tiny_data, tmp_path):
    """A run of a user model finishes; best.pt names the file and its hash; `fmtui eval` reproduces the
    recorded test accuracy, warns once the file has changed and refuses plainly once it has moved."""
    result = invoke("train", "--preset", model_dir / "net.toml", "--data-dir", tiny_data,
                    "--runs-dir", tmp_path / "runs", "--json")
    assert result.exit_code == 0, result.output
    run_dir = Path(json.loads(result.stdout.splitlines()[-1])["run_dir"])
    checkpoint = load_checkpoint(run_dir)
    assert checkpoint.source.path == model_dir / "net.py" and len(checkpoint.source.sha256) == 64
    assert source_problem(checkpoint) is None
    shown = invoke("eval", run_dir, "--data-dir", tiny_data, "--json")
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["test_accuracy"] == RunRecord(run_dir).read_summary().test_accuracy

    (model_dir / "net.py").write_text(NET + "\n# tuned later\n")
    changed = invoke("eval", run_dir, "--data-dir", tiny_data)
    assert changed.exit_code == 0, changed.output
    assert "has changed since it built" in changed.stderr and str(model_dir / "net.py") in changed.stderr

    (model_dir / "net.py").rename(model_dir / "elsewhere.py")
    moved = invoke("eval", run_dir, "--data-dir", tiny_data)
    assert moved.exit_code == 2
    assert "has moved or been deleted" in moved.stderr and "Traceback" not in moved.output


def test_a_user_model_run_resumes_exactly(model_dir, tiny_data, tmp_path, monkeypatch):
    """Interrupted after epoch 1 and resumed from another folder, a user model's run gives the same history
    and test accuracy as an uninterrupted one: the record rebuilds the model from its absolute path."""
    config = replace(load_preset(str(model_dir / "net.toml")), epochs=3)
    straight, _ = run_trainer(config, tiny_data, tmp_path / "straight")
    trainer = Trainer(config, data_dir=tiny_data, runs_dir=tmp_path / "broken")
    trainer.subscribe(lambda e: trainer.stop("interrupted") if isinstance(e, EpochEnded) and e.epoch == 1 else None)
    trainer.start()
    record = RunRecord(trainer.wait(timeout=120).run_dir)
    monkeypatch.chdir(tmp_path)
    resumed, events = run_trainer(resume_config(record), tiny_data, tmp_path / "unused", resume=record)
    assert [e.first_epoch for e in events if isinstance(e, RunStarted)] == [2]

    def losses(run_dir):
        return [row["val_loss"] for row in RunRecord(run_dir).read_history()]

    assert losses(record.path) == losses(straight.run_dir) and resumed.test_accuracy == straight.test_accuracy


def _module(body: str) -> str:
    return "from torch import nn\n\n\n" + textwrap.dedent(body)


_LINEAR = """\
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear({inputs}, {outputs})

        def forward(self, x):
            return self.fc(x.flatten(1))
    """

# Each broken model file, and what the message says: its file and line, what went wrong, what was expected.
BAD = {
    "syntax.py:Net": ("from torch import nn\nclass Net(nn.Module)\n    pass\n",
                      "syntax.py, line 2: cannot be imported"),
    "raises.py:Net": ("import torch\n\nraise RuntimeError('no GPU here')\n",
                      "raises.py, line 3: importing it raised RuntimeError: no GPU here"),
    "net.py:Missing": (NET, "net.py: has no 'Missing' (from model = "),
    "plain.py:make": ("def make():\n    return 'a model'\n",
                      "plain.py, line 1: make(...) returned a value of type str, not a torch.nn.Module"),
    "shape.py:Net": (_module(_LINEAR.format(inputs=784, outputs=5)),
                     "shape.py, line 9: Net gives 2 x 5 for a 2 x 1 x 28 x 28 batch; expected 2 x 10"),
    "crash.py:Net": (_module(_LINEAR.format(inputs=700, outputs=10)),
                     "crash.py, line 10: Net's forward raised RuntimeError on a batch of 2 x 1 x 28 x 28 images"),
    "needs.py:Net": (_module("class Net(nn.Module):\n    def __init__(self, depth):\n        super().__init__()\n"),
                     "needs.py, line 4: Net takes 'depth', which is not a setting"),
}


@pytest.mark.parametrize("reference", BAD)
def test_a_model_file_that_cannot_be_used_names_its_line_and_records_nothing(reference, tiny_data, tmp_path,
                                                                           monkeypatch):
    """--model naming a file that does not import, lacks the class, builds no nn.Module or gives the wrong
    shape: exit 2 with the file, its line and what was expected; no run directory is left."""
    source, expected = BAD[reference]
    (tmp_path / reference.partition(":")[0]).write_text(source)
    monkeypatch.chdir(tmp_path)
    preset = tmp_path / "tiny.toml"
    preset.write_text(tiny_preset())
    result = invoke("train", "--preset", preset, "--model", reference, "--data-dir", tiny_data,
                    "--runs-dir", tmp_path / "runs")
    assert result.exit_code == 2, result.output
    assert f"{tmp_path}/{expected}" in result.stderr and "Traceback" not in result.output
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


@pytest.mark.parametrize("text, fragment", [
    ("net.py:1x", "after the ':' must come the name of a class or function"),
    ("a b:Net", "before the ':' must come a .py file or a dotted module name"),
])
def test_a_malformed_model_reference_is_a_config_error(text, fragment):
    """A reference that is neither file.py:Name nor package.module:name is refused with both forms shown."""
    from fmtui.core.config.settings import TrainConfig

    with pytest.raises(ConfigError, match=fragment):
        TrainConfig.from_dict({"model": text}, "test")


def test_a_preset_naming_a_missing_model_file_says_so(tmp_path):
    """A preset whose model file is not there is unusable at once, naming the preset and the file."""
    (tmp_path / "gone.toml").write_text('model = "gone.py:Net"\n')
    with pytest.raises(ConfigError, match=r"gone.toml: model = 'gone.py:Net': the model file .*gone.py does not"):
        load_preset(str(tmp_path / "gone.toml"))


def test_a_module_reference_builds_a_model_from_an_importable_factory(tmp_path, monkeypatch):
    """model = "package.module:factory" imports the module as Python would and calls the factory."""
    package = tmp_path / "zoo"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "nets.py").write_text(NET + "\n\ndef small(dropout):\n    return Net(widths=(3,), dropout=dropout)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    from fmtui.core.config.settings import TrainConfig

    model = build_model(TrainConfig.from_dict({"model": "zoo.nets:small", "dropout": 0.5}, "test"))
    assert model.widths == (3,) and model.dropout == 0.5
    with pytest.raises(ConfigError, match="no module named 'zoo_missing'"):
        build_model(TrainConfig.from_dict({"model": "zoo_missing.nets:small"}, "test"))


def test_a_user_model_example_ships_in_examples():
    """examples/mynet.toml names examples/mynet.py, which builds a model that fits FashionMNIST with the
    parameter count the preset states."""
    root = Path(__file__).resolve().parents[2]
    info = read_preset(str(root / "examples" / "mynet.toml"))
    model = build_model(info.config)
    assert model(torch.zeros(3, 1, 28, 28)).shape == (3, 10)
    assert count_parameters(model) == info.measured["parameters"]


def test_a_sweep_searches_a_user_model_s_settings(model_dir, tiny_data, tmp_path):
    """`fmtui sweep` over dropout with a user model's preset: every trial trains that model, with the
    dropout Optuna chose reaching it."""
    result = invoke("sweep", model_dir / "net.toml", "--param", "dropout=0.0:0.5", "--trials", 2,
                    "--data-dir", tiny_data, "--runs-dir", tmp_path / "runs")
    assert result.exit_code == 0, result.output
    trials = [RunRecord(p) for p in sorted((tmp_path / "runs").iterdir()) if (p / "best.pt").is_file()]
    assert len(trials) == 2
    for record in trials:
        checkpoint = load_checkpoint(record.path)
        assert checkpoint.config.model == f"{model_dir / 'net.py'}:Net" and checkpoint.source is not None
        assert build_model(checkpoint.config).dropout == checkpoint.config.dropout
