"""Hardening, input: bad values are a message and exit 2, and what people type is shown as typed."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fmtui.core.engine.events import EpochEnded
from fmtui.core.engine.trainer import Trainer
from fmtui.core.records.run_dir import RunRecord
from fmtui.tui.cli import app
from tests.support import tiny_preset
from tests.support.record_fakes import write_record

TINY_PRESET = tiny_preset("tiny linear run for hardening tests", epochs=1)


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def preset_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY_PRESET)
    return path


@pytest.mark.parametrize("args, message", [
    (["--seed", str(2**64)], "--seed = 18446744073709551616: must be between 0 and 18446744073709551615"),
    (["--set", f"seed={2**64}"], "--set seed = 18446744073709551616: must be between 0"),
    (["--set", "train_subset=5"], "train_subset = 5 cannot be drawn class by class from the 350 training images"),
    (["--set", "train_subset=345"], "train_subset = 345 cannot be drawn class by class"),
    (["--set", "val_size=395"], "val_size = 395 leaves the training split of the training file's 400 images"),
    (["--set", 'description="a\\u0000b"'], "--set description = 'a\\x00b': must not contain control characters"),
    (["--set", 'preset="a\\u0000b"'], "--set preset = 'a\\x00b': must not contain control characters"),
    (["--set", "weight_decay=inf"], "--set weight_decay = inf: must be a finite number"),
    (["--device", "cuda:²"], "--device = 'cuda:²': must be auto, cpu, cuda or cuda:N"),
    (["--set", "compile=true"], "compile = true: torch.compile needs a C++ compiler"),
])
def test_bad_values_are_a_message_and_exit_2(preset_file, tiny_data, tmp_path, monkeypatch, args, message):
    """Seeds beyond 64 bits, splits too small to draw by class, NULs, infinities, non-ASCII device numbers
    and compile without a compiler: each is named, exit 2, no traceback, no run directory."""
    import torch._inductor.cpp_builder as cpp_builder
    from torch._inductor.exc import InvalidCxxCompiler

    def no_compiler():
        raise InvalidCxxCompiler

    monkeypatch.setattr(cpp_builder, "get_cpp_compiler", no_compiler)
    result = invoke("train", "--preset", preset_file, "--data-dir", tiny_data, "--runs-dir", tmp_path / "runs", *args)
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.stderr.split()), result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_a_preset_name_that_is_a_path_is_refused_before_the_data_loads(preset_file, tmp_path):
    """--set preset=../x would name the run directory outside the runs directory: refused at once,
    before fmtui looks for the data (here there is none)."""
    result = invoke("train", "--preset", preset_file, "--data-dir", tmp_path / "no-data", "--runs-dir",
                    tmp_path / "runs", "--set", "preset=../x")
    assert result.exit_code == 2
    assert "--set preset = '../x': must be a name usable in a directory name" in result.stderr
    assert "FashionMNIST" not in result.stderr and not (tmp_path / "runs").exists()


def test_resuming_a_run_whose_config_was_edited_to_another_model_exits_2(tiny_config, tiny_data, tmp_path):
    """config.json edited after the run (another model) no longer fits last.pt: named, exit 2, the record
    untouched, and nothing loaded first."""
    trainer = Trainer(replace(tiny_config, epochs=5), data_dir=tiny_data, runs_dir=tmp_path / "runs")
    trainer.subscribe(lambda e: trainer.stop("interrupted") if isinstance(e, EpochEnded) else None)
    trainer.start()
    record = RunRecord(trainer.wait(timeout=120).run_dir)
    config = json.loads(record.config_path.read_text())
    record.config_path.write_text(json.dumps({**config, "model": "tinyvgg"}))
    before = record.summary_path.read_text()
    result = invoke("train", "--resume", record.path, "--data-dir", tmp_path / "no-data")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert (f"{record.config_path} no longer matches the configuration last.pt was trained with (model: "
            f"'linear' there, 'tinyvgg' here)") in " ".join(result.stderr.split())
    assert record.summary_path.read_text() == before


@pytest.mark.parametrize("args, shown", [
    (["compare", "[/x]", "y"], "[/x]: no such run directory"),
    (["train", "--preset", "[bold]nope"], "unknown preset '[bold]nope'"),
    (["train", "--preset", "{preset}", "--set", "model=[/]"], "--set model = '[/]': unknown model"),
    (["train", "--preset", "{preset}", "--set", "model=[bold]x"], "--set model = '[bold]x': unknown model"),
    (["runs", "--runs-dir", "{tmp}/[/r]"], "{tmp}/[/r] does not exist"),
])
def test_what_people_type_is_shown_as_typed(preset_file, tmp_path, args, shown):
    """Messages quoting a path or value holding `[/...]` or `[bold]` show it literally: no MarkupError
    traceback, nothing silently dropped."""
    args = [a.replace("{preset}", str(preset_file)).replace("{tmp}", str(tmp_path)) for a in args]
    result = invoke(*args)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert shown.replace("{tmp}", str(tmp_path)) in " ".join(result.stderr.split()), result.stderr


def test_runs_and_compare_show_bracketed_names_as_they_are(tmp_path):
    """A runs directory and a preset named with brackets are listed and compared verbatim."""
    runs = tmp_path / "[/x] runs"
    a = write_record(runs / "a", preset="[bold]p")
    b = write_record(runs / "b", preset="[/q]")
    listing = invoke("runs", "--runs-dir", runs)
    assert listing.exit_code == 0, listing.output
    text = " ".join(listing.stdout.split())
    assert f"Runs in {runs}" in text and "[bold]p" in text and "[/q]" in text
    compared = invoke("compare", a.path, b.path)
    assert compared.exit_code == 0 and "[bold]p" in compared.stdout and "[/q]" in compared.stdout
