"""Where a study lives: SQLite in the runs directory by default, or a PostgreSQL or MySQL URL, or a
journal file on a shared filesystem. Every worker that runs the same command against one storage
shares the study, and Optuna's storage hands each a distinct trial; a study remembers what it searches
so that a worker with other settings is refused.
"""

from __future__ import annotations

import json
import os
import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna

from fmtui.core.config.settings import TrainConfig
from fmtui.core.errors import ConfigError
from fmtui.core.sweep.leaderboard import TARGET_ATTR
from fmtui.core.sweep.space import Plan, config_diff

DEFAULT_STORAGE_FILE = "sweeps.db"  # in the runs directory
SQLITE_TIMEOUT_SECONDS = 60  # how long a worker waits for another's write before "database is locked"
# Optuna's heartbeat marks a trial whose worker died (SIGKILL, a lost machine) as failed, so it stops
# counting towards --trials and the same command can replace it. Journal files have no heartbeat, and
# the heartbeat waits out a grace period: on the same machine a dead worker's trial is also recognised
# at once by its host and process id (see _fail_dead_local).
HEARTBEAT_SECONDS, GRACE_SECONDS = 30, 120
SPACE_ATTR = "fmtui_space"  # the study attribute recording what it searches (describe_space)

# Median, the default: with the few, short trials of a CPU sweep it compares each trial with the
# completed ones at the same epoch and needs no budget settings to fit the epoch count; the first three
# trials always run to the end so the median means something. Successive halving (asynchronous, keeps
# the best quarter at each rung) suits many long trials, and cuts slow starters (a low learning rate)
# too soon in a sweep of a few epochs.
PRUNERS: dict[str, Callable[[], optuna.pruners.BasePruner]] = {
    "median": lambda: optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1),
    "halving": lambda: optuna.pruners.SuccessiveHalvingPruner(),
    "none": lambda: optuna.pruners.NopPruner(),
}
def storage_label(storage: str | None, runs_dir: Path) -> str:
    """The storage as messages show it (a database password hidden)."""
    if storage is None:
        return str(Path(runs_dir) / DEFAULT_STORAGE_FILE)
    if "://" in storage:
        try:
            from sqlalchemy.engine import make_url

            return make_url(storage).render_as_string(hide_password=True)
        except Exception:  # an unparseable URL: shown as given, it is reported as unreachable anyway
            return storage
    return storage


def open_storage(storage: str | None, runs_dir: Path, *, existing: bool = False) -> optuna.storages.BaseStorage:
    """The Optuna storage for ``--storage`` (None: SQLite in the runs directory); ConfigError naming the
    flag when it cannot be opened. A URL is a database; a path is a journal file (one ending in .db,
    .sqlite or .sqlite3 an SQLite file).

    ``existing``: only to read a study that is there (``--watch``): a file that is not there is an error
    and nothing is created. Otherwise the storage is written to, and a file this user cannot write (or
    in a directory it cannot write, where SQLite keeps its journal) is an error before anything is tried."""
    label = f"--storage {storage_label(storage, runs_dir)}"
    if storage is None:
        if not existing:
            try:
                Path(runs_dir).mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigError(f"cannot create the runs directory {runs_dir} for the sweep's study: "
                                  f"{exc.strerror or exc}. Choose one with --runs-dir, or a --storage.") from None
        path = Path(runs_dir) / DEFAULT_STORAGE_FILE
        _check_file(label, path, existing)
        url = f"sqlite:///{path.resolve()}"
    elif "://" in storage:
        url = _with_driver(storage)
        if url.startswith("sqlite:///") and url[len("sqlite:///"):].partition("?")[0] not in ("", ":memory:"):
            _check_file(label, Path(url[len("sqlite:///"):].partition("?")[0]), existing)
    elif storage.removeprefix("journal:") == storage and Path(storage).suffix in (".db", ".sqlite", ".sqlite3"):
        _check_file(label, Path(storage), existing)
        url = f"sqlite:///{Path(storage).resolve()}"
    else:
        path = Path(storage.removeprefix("journal:"))
        _check_file(label, path, existing)
        try:
            from optuna.storages.journal import JournalFileBackend

            return optuna.storages.JournalStorage(JournalFileBackend(str(path)))
        except OSError as exc:
            raise ConfigError(f"{label}: the journal file cannot be opened: {exc.strerror or exc}.") from None
    engine_kwargs = {"connect_args": {"timeout": SQLITE_TIMEOUT_SECONDS}} if url.startswith("sqlite") \
        else {"pool_pre_ping": True}
    last: Exception | None = None
    for _ in range(5):  # two workers starting at once on a new database race to create its tables
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # the heartbeat
                return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs,
                                                  heartbeat_interval=HEARTBEAT_SECONDS, grace_period=GRACE_SECONDS)
        except ImportError as exc:
            raise ConfigError(f"{label}: the database driver is not installed ({exc}); install it, for "
                              f"PostgreSQL with `pip install 'fmtui[postgres]'` (psycopg), for MySQL "
                              f"`pip install pymysql` and a mysql+pymysql:// URL.") from None
        except Exception as exc:  # SQLAlchemy raises many kinds for a bad URL or an unreachable server
            last = exc
            # (a table already there, a duplicate version row, a lock): a moment later the other has.
            # A server says so as a duplicate key (PostgreSQL) or entry (MySQL); anything else is real.
            raced = any(sign in str(exc) for sign in ("duplicate key", "Duplicate entry", "already exists"))
            if not (raced or url.startswith("sqlite")) or "unable to open" in str(exc):
                break
            threading.Event().wait(0.5)
    message = str(last).strip().splitlines()[0] if last is not None and str(last).strip() else type(last).__name__
    raise ConfigError(f"{label}: the storage cannot be reached or opened ({message}). Check the URL, the "
                      f"server and the credentials.")


def _check_file(label: str, path: Path, existing: bool) -> None:
    """ConfigError naming ``path`` where a storage file is not there to be read (``existing``), or cannot
    be written: SQLite and Optuna would otherwise create a mistyped one, or fail at the first write with
    a message about something else ("exceeding max length")."""
    try:
        there = path.exists()
    except OSError as exc:
        raise ConfigError(f"{label}: {path} cannot be reached: {exc.strerror or exc}.") from None
    if existing:
        if not there:
            raise ConfigError(f"{label}: {path} does not exist (nothing was created); give the --storage the "
                              f"workers use.")
        if not os.access(path, os.R_OK):
            raise ConfigError(f"{label}: {path} cannot be read by this user.")
        return
    if there and path.is_dir():
        raise ConfigError(f"{label}: {path} is a directory, not a storage file.")
    directory = path.parent
    if there and not os.access(path, os.R_OK | os.W_OK):
        raise ConfigError(f"{label}: {path} is read-only for this user (or on a read-only file system); a sweep "
                          f"writes its trials there. Give it write access, or choose another --storage.")
    if directory.is_dir() and not os.access(directory, os.W_OK | os.X_OK):
        what = "its directory" if there else "the directory it would be created in"
        raise ConfigError(f"{label}: {what}, {directory}, is read-only for this user (a sweep writes its storage "
                          f"and, for SQLite, a journal beside it there). Choose another --storage.")


def _with_driver(url: str) -> str:
    """A PostgreSQL URL names no driver, and SQLAlchemy then wants psycopg2; use psycopg 3 when only it is here."""
    import importlib.util

    scheme, sep, rest = url.partition("://")
    if scheme in ("postgres", "postgresql") and importlib.util.find_spec("psycopg2") is None \
            and importlib.util.find_spec("psycopg") is not None:
        return f"postgresql+psycopg{sep}{rest}"
    return url


def open_study(plan: Plan, storage: optuna.storages.BaseStorage, where: str) -> optuna.Study:
    """Create the plan's study, or load it; a study that searches something else is an error."""
    try:
        study = optuna.create_study(
            study_name=plan.study, storage=storage, direction="maximize", load_if_exists=True,
            # TPE's constant liar (on by default) treats running trials as bad so that workers sharing
            # the study do not all propose the same settings.
            sampler=optuna.samplers.TPESampler(constant_liar=True), pruner=PRUNERS[plan.pruner]())
    except ValueError as exc:  # a study of the same name with another direction
        raise ConfigError(f"--study {plan.study}: exists in {where} but is not an fmtui sweep ({exc}); "
                          f"choose another --study.") from None
    except optuna.exceptions.StorageInternalError as exc:  # a write refused (read-only, full) that access() missed
        cause = exc.__cause__ if exc.__cause__ is not None else exc
        reason = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
        raise ConfigError(f"--storage {where}: the study cannot be written there ({reason}). Check that the "
                          f"storage is writable, or choose another --storage.") from None
    if study.direction != optuna.study.StudyDirection.MAXIMIZE:
        raise ConfigError(f"--study {plan.study}: exists in {where} and minimizes its objective, so it is not "
                          f"an fmtui sweep (they maximize validation accuracy); choose another --study.")
    space = describe_space(plan)
    recorded = study.user_attrs.get(SPACE_ATTR)
    if recorded is None:
        study.set_user_attr(SPACE_ATTR, space)
    else:
        _check_same(plan.study, where, recorded, space)
    study.set_user_attr(TARGET_ATTR, plan.trials)  # the latest command's --trials, for --watch
    return study


def describe_space(plan: Plan) -> dict[str, Any]:
    """What makes trials of one study comparable: the preset's settings and the searched ranges."""
    base = config_diff(plan.base, TrainConfig())
    return json.loads(json.dumps({"preset": plan.base.preset, "settings": base,
                                  "params": sorted(p.spec() for p in plan.params)}))


def _check_same(study: str, where: str, recorded: dict[str, Any], space: dict[str, Any]) -> None:
    if recorded.get("params") != space["params"]:
        given = " ".join(f"--param {p}" for p in space["params"])
        before = " ".join(f"--param {p}" for p in recorded.get("params", []))
        raise ConfigError(f"--param: study '{study}' in {where} was created with {before}, not {given}. "
                          f"Give the same --param flags to continue it, or name a new study with --study.")
    if recorded.get("settings") != space["settings"]:
        changed = sorted(k for k in set(recorded.get("settings", {})) | set(space["settings"])
                         if recorded.get("settings", {}).get(k) != space["settings"].get(k))
        raise ConfigError(f"--set/PRESET: study '{study}' in {where} was created from preset "
                          f"'{recorded.get('preset')}' with other settings ({', '.join(changed)} differ). "
                          f"Use the same preset and --set flags to continue it, or name a new study with --study.")


def load_existing(name: str, storage: optuna.storages.BaseStorage, where: str) -> optuna.Study:
    """A study that must already exist (for --watch)."""
    try:
        return optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        names = optuna.get_all_study_names(storage)
        raise ConfigError(f"--study {name}: no such study in {where}"
                          + (f" (it holds {', '.join(names)})." if names else " (it holds none yet).")) from None


# --- running trials -------------------------------------------------------------------------------
