"""`fmtui sweep` in one process: the search space, a whole sweep to its best preset, pruning, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pytest
from typer.testing import CliRunner

from fmtui.core.config.presets import load_preset
from fmtui.core.errors import ConfigError
from fmtui.core.records.run_dir import RunRecord
from fmtui.core.sweep.space import apply, parse_params
from fmtui.core.sweep.storage import SPACE_ATTR
from fmtui.tui.cli import app

TINY = """description = "tiny linear run for sweep tests"
model = "linear"
epochs = 2
batch_size = 32
lr = 0.01
schedule = "constant"
val_size = 50
device = "cpu"
"""


@pytest.fixture
def preset_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    return path


def invoke(*args) -> object:
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


def study_of(runs: Path, name: str = "tiny-sweep") -> optuna.Study:
    return optuna.load_study(study_name=name, storage=f"sqlite:///{runs / 'sweeps.db'}")


def test_params_become_optuna_distributions_and_config_settings():
    """Ranges, log ranges, whole numbers, choices and the width shorthand parse, and apply as settings."""
    base = load_preset("tinyvgg")
    params = parse_params(["lr=log:1e-4:1e-2", "dropout=0.1:0.5", "width=int:32:96", "model=tinyvgg,resnet",
                           "batch_size=64:256:64", "flip=true,false"], base)
    assert [p.spec() for p in params] == ["lr=log:0.0001:0.01", "dropout=0.1:0.5", "width=int:32:96",
                                          "model=tinyvgg,resnet", "batch_size=int:64:256:64", "flip=true,false"]
    trial = optuna.trial.FixedTrial({"lr": 0.002, "dropout": 0.2, "width": 40, "model": "resnet",
                                     "batch_size": 128, "flip": False})
    config = apply(base, {p.name: p.suggest(trial) for p in params})
    assert config.widths == (40, 80, 160) and config.model == "resnet" and config.lr == 0.002
    assert config.batch_size == 128 and config.flip is False


@pytest.mark.parametrize("param, message", [
    ("colour=1:2", "--param colour: unknown setting"),
    ("learning_rate=log:1e-4:1e-2", "(did you mean 'lr'?)"),
    ("dropout=0.5:0.1", "--param dropout=0.5:0.1: the low end (0.5) must be below the high end (0.1)"),
    ("lr=log:0:0.1", "--param lr=log:0:0.1: a log range needs a low end above 0"),
    ("lr=log:-1:0.1", "a log range needs a low end above 0"),
    ("dropout=0.1:1.5", "--param dropout = 1.5: must be at least 0 and below 1"),
    ("lr=0.01", "a single value belongs in --set"),
    ("lr", "--param 'lr': expected NAME=LOW:HIGH"),
    ("widths=16:64", "--param widths: a list setting cannot be searched"),
    ("batch_size=8.5:64", "is not a whole number"),
    ("model=tinyvgg,alexnet", "--param model = 'alexnet': unknown model"),
    ("device=cpu,cuda", "--param device: cannot be searched"),
])
def test_a_malformed_param_exits_2_naming_the_flag_and_writes_nothing(preset_file, tiny_data, tmp_path, param,
                                                                       message):
    """A bad --param is refused before any storage or run directory exists, with a message naming the flag."""
    runs = tmp_path / "runs"
    result = invoke("sweep", preset_file, "--param", param, "--trials", 2, "--data-dir", tiny_data,
                    "--runs-dir", runs)
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.stderr.split()), result.stderr
    assert "Traceback" not in result.output and not runs.exists()


@pytest.mark.parametrize("args, message", [
    (["--param", "lr=log:1e-3:1e-1", "--set", "lr=0.1"], "--param lr: also fixed with --set lr"),
    (["--param", "lr=log:1e-3:1e-1", "--param", "lr=1e-3:1e-1"], "--param lr: given twice"),
    (["--param", "lr=log:1e-3:1e-1", "--timeout", "soon"], "--timeout 'soon': expected a duration"),
    (["--param", "lr=log:1e-3:1e-1", "--study", "a/b"], "--study 'a/b': use letters, digits"),
    (["--param", "lr=log:1e-3:1e-1", "--pruner", "mean"], "--pruner 'mean': choose one of median, halving, none"),
    (["--param", "lr=log:1e-3:1e-1", "--storage", "postgresql://fmtui@127.0.0.1:1/sweeps"], "--storage postgresql"),
    (["--param", "lr=log:1e-3:1e-1", "--storage", "sqlite:////no/such/dir/s.db"], "--storage sqlite:////no/such"),
    (["--param", "lr=log:1e-3:1e-1", "--storage", "/no/such/dir/s.journal"], "the journal file cannot be opened"),
    ([], "--param is required"),
])
def test_other_bad_input_exits_2_naming_the_flag(preset_file, tiny_data, tmp_path, args, message):
    """Conflicting flags, a bad duration or name, and an unreachable storage exit 2 and name the flag."""
    runs = tmp_path / "runs"
    result = invoke("sweep", preset_file, "--trials", 2, "--data-dir", tiny_data, "--runs-dir", runs, *args)
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.stderr.split()), result.stderr
    assert "Traceback" not in result.output
    assert not runs.exists() or not [p for p in runs.iterdir() if p.is_dir()], "no run was started"


def test_a_sweep_ends_with_a_leaderboard_and_a_best_preset_that_trains(preset_file, tiny_data, tmp_path):
    """--json gives one object per trial and a leaderboard; each trial is a run of the study; the best trains."""
    runs = tmp_path / "runs"
    result = invoke("sweep", preset_file, "--trials", 3, "--param", "lr=log:1e-3:1e-1", "--param", "dropout=0:0.5",
                    "--data-dir", tiny_data, "--runs-dir", runs, "--json")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["event"] for line in lines] == ["trial_ended"] * 3 + ["sweep_finished"]
    final = lines[-1]
    assert final["status"] == "finished" and final["done"] == 3 and len(final["leaderboard"]) == 3
    assert final["best"]["state"] == "complete" and final["best"]["value"] > 0.9
    for row in final["leaderboard"]:
        config = RunRecord(Path(row["run_dir"])).read_config()
        assert (config.study, config.trial) == ("tiny-sweep", row["trial"])
        assert config.lr == row["params"]["lr"] and config.dropout == row["params"]["dropout"]
    preset = Path(final["best_preset"])
    assert preset == runs / "tiny-sweep-best.toml" and load_preset(str(preset)).lr == final["best"]["params"]["lr"]
    trained = invoke("train", "--preset", preset, "--data-dir", tiny_data, "--runs-dir", tmp_path / "again", "--json")
    assert trained.exit_code == 0, trained.output
    assert json.loads(trained.stdout.splitlines()[-1])["status"] == "finished"

    plain = invoke("sweep", preset_file, "--trials", 3, "--param", "lr=log:1e-3:1e-1", "--param", "dropout=0:0.5",
                   "--data-dir", tiny_data, "--runs-dir", runs)
    assert plain.exit_code == 0, plain.output
    assert "Sweep tiny-sweep: 3/3 done (3 complete)" in plain.stdout and "fmtui train --preset" in plain.stdout
    assert len([p for p in runs.iterdir() if p.is_dir()]) == 3, "a finished study starts no more trials"
    watched = invoke("sweep", "--study", "tiny-sweep", "--watch", "--json", "--runs-dir", runs)
    assert watched.exit_code == 0, watched.output
    assert [json.loads(line)["event"] for line in watched.stdout.splitlines()] == ["trial_ended"] * 3 + [
        "sweep_finished"]


def test_a_study_created_with_other_params_exits_2(preset_file, tiny_data, tmp_path):
    """Continuing a study with different --param or --set flags is refused; the study gains no trial."""
    runs = tmp_path / "runs"
    first = invoke("sweep", preset_file, "--trials", 1, "--param", "lr=log:1e-3:1e-1", "--data-dir", tiny_data,
                   "--runs-dir", runs, "--json")
    assert first.exit_code == 0, first.output
    for args, message in ((["--param", "lr=log:1e-3:1"], "--param: study 'tiny-sweep'"),
                          (["--param", "lr=log:1e-3:1e-1", "--set", "epochs=3"], "--set/PRESET: study 'tiny-sweep'")):
        result = invoke("sweep", preset_file, "--trials", 2, *args, "--data-dir", tiny_data, "--runs-dir", runs)
        assert result.exit_code == 2, result.output
        assert message in " ".join(result.stderr.split()), result.stderr
    study = study_of(runs)
    assert len(study.trials) == 1 and study.user_attrs[SPACE_ATTR]["params"] == ["lr=log:0.001:0.1"]


def test_a_clearly_worse_trial_is_pruned(tiny_data, tmp_path):
    """After three good trials, one with an absurd learning rate falls below the median and is pruned long
    before its last epoch."""
    preset = tmp_path / "cnn.toml"
    # Enough epochs that the trial is still training when its first reports reach the pruner (the sweep
    # reads them every 0.2 s; a tiny epoch takes a fraction of that).
    preset.write_text(TINY.replace('"linear"', '"tinyvgg"').replace("epochs = 2", "epochs = 40")
                      + "widths = [4, 8]\ntrain_subset = 200\n")
    runs = tmp_path / "runs"
    runs.mkdir()
    # Optuna's own API decides what the first trials try, so the test knows which one is absurd.
    study = optuna.create_study(study_name="cnn-sweep", storage=f"sqlite:///{runs / 'sweeps.db'}",
                                direction="maximize")
    for lr in (0.01, 0.02, 0.005, 1000.0):
        study.enqueue_trial({"lr": lr})
    result = invoke("sweep", preset, "--trials", 4, "--param", "lr=log:1e-3:1e3", "--data-dir", tiny_data,
                    "--runs-dir", runs, "--json")
    assert result.exit_code == 0, result.output
    rows = {row["trial"]: row for row in json.loads(result.stdout.splitlines()[-1])["leaderboard"]}
    assert [rows[n]["state"] for n in range(4)] == ["complete", "complete", "complete", "pruned"]
    absurd = rows[3]
    assert absurd["params"]["lr"] == 1000.0 and absurd["epochs"] < 40 and absurd["status"] == "pruned"
    summary = RunRecord(Path(absurd["run_dir"])).read_summary()
    assert summary.status == "pruned" and summary.test_accuracy is None, "a pruned trial is not tested"
    listing = invoke("runs", "--runs-dir", runs)
    assert "pruned" in listing.stdout


def test_optuna_stays_out_of_help_and_the_monitors_first_screen():
    """`fmtui --help` and the command line load without Optuna; so does the monitor with its sweep view."""
    from tests.layout.test_core_isolation import _loaded_after

    assert _loaded_after("import fmtui.tui.cli", ("optuna",)) == []
    assert _loaded_after("import fmtui.tui.monitor.launch, fmtui.tui.monitor.views", ("optuna",)) == []


def test_search_module_rejects_without_optuna():
    """The --param checks live in fmtui.core.sweep.space, which needs neither Optuna nor torch."""
    from tests.layout.test_core_isolation import _loaded_after

    assert _loaded_after("import fmtui.core.sweep.space", ("optuna", "torch")) == []
    with pytest.raises(ConfigError):
        parse_params(["lr=log:0:1"], load_preset("linear"))


@pytest.mark.filterwarnings("ignore:Heartbeat of storage")  # the test asks for a trial outside optimize
@pytest.mark.parametrize("storage", ["s.journal", None], ids=["journal", "sqlite"])
def test_a_dead_workers_trial_stops_counting_at_once(tmp_path, storage):
    """A running trial whose process on this machine is gone is marked failed without waiting for a heartbeat."""
    import subprocess
    import sys

    from fmtui.core.sweep.runner import Sweep, _machine
    from fmtui.core.sweep.space import Plan
    from fmtui.core.sweep.storage import open_storage, open_study

    base = load_preset("linear")
    plan = Plan("dead", base, parse_params(["lr=log:1e-3:1e-1"], base), trials=2)
    study = open_study(plan, open_storage(str(tmp_path / storage) if storage else None, tmp_path), "test")
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    trial = study.ask()
    trial.set_user_attr("host", _machine())
    trial.set_user_attr("pid", int(gone.stdout))
    sweep = Sweep(plan, study, data=None, data_dir=None, runs_dir=tmp_path)
    assert sweep.remaining() == 2 and study.trials[0].state.name == "FAIL"


def test_a_worker_that_dies_mid_study_is_replaced_and_the_study_ends_with_exactly_n(tmp_path, tiny_data):
    """Another worker on this machine dies while its trial runs, in the middle of this worker's sweep: the
    survivor notices, fails that trial and runs one more, so the study ends with N trials done."""
    import subprocess
    import sys

    from fmtui.core.config.presets import load_preset as load
    from fmtui.core.sweep.runner import Sweep, _machine
    from fmtui.core.sweep.space import Plan
    from fmtui.core.sweep.storage import open_storage, open_study

    preset = tmp_path / "tiny.toml"
    preset.write_text(TINY)
    base = load(str(preset))
    plan = Plan("survivor", base, parse_params(["lr=log:1e-3:1e-1"], base), trials=3)
    study = open_study(plan, open_storage(None, tmp_path), "test")
    gone = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True).stdout)

    def a_worker_starts_then_dies(number, config, trainer) -> None:
        if number == 0:  # while this worker's first trial trains, another worker takes a trial and dies
            other = study.ask()
            other.set_user_attr("host", _machine())
            other.set_user_attr("pid", gone)

    sweep = Sweep(plan, study, data=None, data_dir=tiny_data, runs_dir=tmp_path / "runs",
                  on_trial=a_worker_starts_then_dies)
    sweep.run()
    states = [t.state.name for t in study.trials]
    assert states.count("COMPLETE") + states.count("PRUNED") == 3, states
    assert "RUNNING" not in states and states.count("FAIL") == 1
