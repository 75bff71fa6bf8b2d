"""The headless CLI through Typer's runner: output formats, exit codes, and bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fmtui.core.records.run_dir import RunRecord
from fmtui.tui.cli import app
from tests.support import tiny_preset

TINY_PRESET = tiny_preset(epochs=2, batch_size=32)


@pytest.fixture
def preset_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY_PRESET)
    return path


def invoke(*args: str):
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


def test_train_json_prints_one_event_per_line_ending_with_test_accuracy(preset_file, tiny_data, tmp_path):
    """--json writes only JSON objects on stdout, each with an event field; the last carries test_accuracy."""
    result = invoke("train", "--preset", preset_file, "--data-dir", tiny_data, "--runs-dir", tmp_path / "runs",
                    "--json")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines[0]["event"] == "run_started" and all("event" in line for line in lines)
    assert lines[-1]["event"] == "run_finished" and 0.9 < lines[-1]["test_accuracy"] <= 1
    summary = RunRecord(Path(lines[-1]["run_dir"])).read_summary()
    assert summary.test_accuracy == lines[-1]["test_accuracy"]


def test_train_without_a_terminal_prints_a_line_per_epoch(preset_file, tiny_data, tmp_path):
    """Piped output gets one plain line per epoch and a closing line with the test accuracy."""
    result = invoke("train", "--preset", preset_file, "--data-dir", tiny_data, "--runs-dir", tmp_path / "runs",
                    "--epochs", "3")
    assert result.exit_code == 0, result.output
    epoch_lines = [line for line in result.stderr.splitlines() if line.startswith("epoch ")]
    assert [line.split()[1] for line in epoch_lines] == ["1/3", "2/3", "3/3"]
    assert re.search(r"val loss \d\.\d{4} acc \d+\.\d\d%", epoch_lines[0])
    assert re.search(r"finished: test accuracy \d+\.\d\d%, 3 epochs", result.stderr)


def test_eval_prints_the_same_test_accuracy_as_the_summary(preset_file, tiny_data, tmp_path):
    """`fmtui eval` on a run's checkpoint reproduces the test accuracy recorded in summary.json."""
    result = invoke("train", "--preset", preset_file, "--data-dir", tiny_data, "--runs-dir", tmp_path / "runs",
                    "--json")
    run_dir = Path(json.loads(result.stdout.splitlines()[-1])["run_dir"])
    summary = RunRecord(run_dir).read_summary()
    shown = invoke("eval", run_dir / "best.pt", "--data-dir", tiny_data)
    assert shown.exit_code == 0, shown.output
    assert f"test accuracy {summary.test_accuracy * 100:.2f}%" in shown.stdout
    assert "Sneaker" in shown.stdout and "recall" in shown.stdout
    as_json = json.loads(invoke("eval", run_dir, "--data-dir", tiny_data, "--json").stdout)
    assert as_json["test_accuracy"] == summary.test_accuracy


def test_presets_lists_names_and_descriptions():
    """`fmtui presets` shows each preset with its description."""
    result = invoke("presets")
    assert result.exit_code == 0
    assert "linear" in result.stdout and "tinyvgg" in result.stdout and "baseline" in result.stdout


@pytest.mark.parametrize("args, message", [
    (["--preset", "nope"], "unknown preset 'nope'"),
    (["--epochs", "0"], "--epochs = 0: must be between 1 and 10000"),
    (["--lr", "-1"], "--lr = -1.0: must be a finite number greater than 0"),
    (["--batch-size", "100000"], "batch_size = 100,000 is larger than the training split (350 images)"),
    (["--device", "cuda"], "--device cuda: PyTorch sees no CUDA GPU"),
    (["--device", "tpu"], "--device = 'tpu': must be auto, cpu, cuda or cuda:N"),
    (["--set", "dropout=2"], "--set dropout = 2: must be at least 0 and below 1"),
    (["--set", "colour=red"], "--set colour: unknown setting"),
    (["--data-dir", "{tmp}/missing"], "FashionMNIST is not in"),
    (["--runs-dir", "{tmp}/a-file/runs"], "cannot create the runs directory"),
    (["--resume", "{tmp}/no-such-run"], "--resume"),
])
def test_bad_input_exits_2_with_a_message_and_no_traceback(preset_file, tiny_data, tmp_path, monkeypatch,
                                                           args, message):
    """Each bad flag or environment gets a one-paragraph explanation, exit code 2, and no run directory."""
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setenv("FMTUI_DATA", str(tiny_data))
    (tmp_path / "a-file").write_text("not a directory")
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    base = ["train", "--runs-dir", tmp_path / "runs"]
    if "--preset" not in args and "--resume" not in args:
        base += ["--preset", preset_file]
    if "--data-dir" in args:
        pytest.importorskip("torchvision")
        monkeypatch.setattr("torchvision.datasets.FashionMNIST", _offline)
    result = invoke(*base, *args)
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.stderr.split()), result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def _offline(*args, **kwargs):
    raise RuntimeError("<urlopen error [Errno -2] Name or service not known>")


@pytest.mark.parametrize("make, message", [
    (lambda tmp: tmp / "missing.pt", "does not exist"),
    (lambda tmp: _write(tmp / "garbage.pt", b"not a checkpoint"), "is not a readable checkpoint"),
])
def test_eval_of_a_bad_checkpoint_exits_2(tmp_path, tiny_data, make, message):
    """A missing or corrupt checkpoint is named, with exit code 2 and no traceback."""
    result = invoke("eval", make(tmp_path), "--data-dir", tiny_data)
    assert result.exit_code == 2
    assert message in " ".join(result.stderr.split()) and "Traceback" not in result.output


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_debug_shows_the_traceback(tmp_path):
    """--debug prints the full traceback for people who want it."""
    result = invoke("train", "--preset", "nope", "--debug")
    assert result.exit_code == 2 and "Traceback" in result.stderr


def test_eval_of_a_mismatched_checkpoint_exits_2(preset_file, tiny_data, tmp_path):
    """Weights that do not fit the model their config names are reported, not loaded half-way."""
    import torch

    result = invoke("train", "--preset", preset_file, "--data-dir", tiny_data, "--runs-dir", tmp_path / "runs",
                    "--json")
    run_dir = Path(json.loads(result.stdout.splitlines()[-1])["run_dir"])
    checkpoint = torch.load(run_dir / "best.pt", weights_only=True)
    checkpoint["config"]["model"] = "tinyvgg"
    torch.save(checkpoint, tmp_path / "mismatched.pt")
    shown = invoke("eval", tmp_path / "mismatched.pt", "--data-dir", tiny_data)
    assert shown.exit_code == 2
    assert "its weights do not fit the 'tinyvgg' model" in " ".join(shown.stderr.split())
    checkpoint["config"]["colour"] = "red"
    torch.save(checkpoint, tmp_path / "unknown.pt")
    shown = invoke("eval", tmp_path / "unknown.pt", "--data-dir", tiny_data)
    assert shown.exit_code == 2 and "colour: unknown setting" in shown.stderr


def test_runs_lists_past_runs_and_compare_shows_them_side_by_side(preset_file, tiny_data, tmp_path):
    """`fmtui runs` tabulates each run; `fmtui compare` prints their metrics and one chart of their curves."""
    runs = tmp_path / "runs"
    for epochs, select in (("2", "loss"), ("3", "accuracy")):
        invoke("train", "--preset", preset_file, "--data-dir", tiny_data, "--runs-dir", runs, "--epochs", epochs,
               "--set", f"select={select}")
    listing = invoke("runs", "--runs-dir", runs)
    assert listing.exit_code == 0
    rows = [line for line in listing.stdout.splitlines() if "tiny" in line and "finished" in line]
    assert len(rows) == 2 and "2/2" in rows[0] and "3/3" in rows[1]
    run_dirs = sorted(runs.iterdir())
    shown = invoke("compare", *run_dirs)
    assert shown.exit_code == 0
    assert "its val accuracy" in shown.stdout and "validation accuracy (%) per epoch" in shown.stdout
    assert "(lowest val loss)" in shown.stdout, "best says what it means"
    assert "(highest val acc)" in shown.stdout, "each run's best by its own rule"
    for run_dir in run_dirs:
        assert run_dir.name in shown.stdout
    missing = invoke("compare", run_dirs[0], tmp_path / "nope")
    assert missing.exit_code == 2 and "no such run directory" in missing.stderr
    empty = invoke("runs", "--runs-dir", tmp_path / "elsewhere")
    assert empty.exit_code == 2 and "--runs-dir" in empty.stderr


def test_a_run_remembers_its_data_and_every_command_takes_the_id_runs_lists(tiny_data, tmp_path, monkeypatch):
    """A run trained with --data-dir records it: `fmtui eval ID` finds the same images with neither the flag
    nor FMTUI_DATA (a flag still overrides); eval and compare take the bare id, which `fmtui runs` prints
    whole on one line even piped at 80 columns."""
    preset = tmp_path / "a-preset-with-a-rather-long-name.toml"
    preset.write_text(TINY_PRESET)
    monkeypatch.setenv("FMTUI_DATA", str(tmp_path / "nowhere"))
    runs = tmp_path / "runs"
    trained = invoke("train", "--preset", preset, "--data-dir", tiny_data, "--runs-dir", runs, "--json")
    last = json.loads(trained.stdout.splitlines()[-1])
    run_dir = Path(last["run_dir"])
    assert RunRecord(run_dir).read_summary().data_dir == str(tiny_data.resolve())
    shown = invoke("eval", run_dir.name, "--runs-dir", runs, "--json")
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["test_accuracy"] == last["test_accuracy"]
    elsewhere = invoke("eval", run_dir.name, "--runs-dir", runs, "--data-dir", tmp_path / "other")
    assert elsewhere.exit_code == 2 and str(tmp_path / "other") in elsewhere.stderr
    compared = invoke("compare", run_dir.name, "--runs-dir", runs)
    assert compared.exit_code == 0 and run_dir.name in compared.stdout
    listing = CliRunner().invoke(app, ["runs", "--runs-dir", str(runs)], env={"COLUMNS": "80"})
    assert listing.exit_code == 0
    rows = [line.split() for line in listing.stdout.splitlines()]
    assert any(row[:3] == [run_dir.name, preset.stem, "finished"] for row in rows), listing.stdout


def test_compare_gives_a_runs_images_per_second_over_all_its_epochs_not_its_last():
    """One fast last epoch does not stand for the run: the rate is the images trained over the seconds taken."""
    from fmtui.tui.cli.commands.compare import mean_rate

    history = [{"seconds": 9.0, "images_per_second": 100.0}, {"seconds": 1.0, "images_per_second": 1000.0}]
    assert mean_rate(history) == pytest.approx(190.0)


def test_compare_s_chart_keeps_accuracy_within_100_and_its_legend_below_the_curves(tmp_path):
    """Runs near 100% draw on an axis that ends at 100 at most, and each run is named below the plot, not on it."""
    from fmtui.tui.cli.commands.compare import accuracy_chart

    records = [RunRecord(tmp_path / name) for name in ("20260101-000000-a", "20260101-000001-b")]
    histories = [[{"epoch": e, "val_accuracy": v} for e, v in enumerate(values, 1)]
                 for values in ((0.97, 0.99, 1.0), (0.98, 1.0, 1.0))]
    chart = accuracy_chart(records, histories).splitlines()
    ticks = [float(line.split("┤")[0]) for line in chart if "┤" in line]
    assert max(ticks) <= 100 and min(ticks) >= 96
    plot_end = max(i for i, line in enumerate(chart) if "┘" in line)
    for record in records:
        (row,) = [i for i, line in enumerate(chart) if record.run_id in line]
        assert row > plot_end


def test_help_lists_every_command_in_the_order_people_use_them_uncut():
    """`fmtui --help` at 80 columns starts with train, ends with the live-run controls, and gives each command
    its whole line; a command registered without a line in the table fails here."""
    from fmtui.tui.cli.app import COMMANDS, app

    result = CliRunner().invoke(app, ["--help"], prog_name="fmtui", env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    listed = result.output.split("Commands:")[1]
    rows = [line.split()[0] for line in listed.splitlines() if line.startswith("  ") and line[2] != " "]
    assert rows == list(COMMANDS), "every command is in the table, in its order"
    assert "..." not in listed and all(line in " ".join(listed.split()) for line in COMMANDS.values())
