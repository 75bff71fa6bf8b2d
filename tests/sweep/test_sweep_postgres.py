"""The many-machines path on a real PostgreSQL server: a throwaway one this test starts and stops itself.

Skipped, with the reason, where the server's binaries (Debian's postgresql package) or the psycopg
driver (`pip install 'fmtui[postgres]'`) are missing.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import optuna
import pytest

from tests.sweep.test_sweep_processes import ROOT, TINY, start, sweep_args

INITDB = shutil.which("initdb") or next(iter(sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))), None)


def _as_server_user() -> list[str]:
    # PostgreSQL refuses to run as root (CI and these machines run tests as root): drop to nobody.
    return ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"] if os.geteuid() == 0 else []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def postgres_url():
    if INITDB is None:
        pytest.skip("no PostgreSQL server binaries (initdb); apt-get install postgresql")
    pytest.importorskip("psycopg", reason="no psycopg; pip install 'fmtui[postgres]'")
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv to start PostgreSQL as another user")
    bindir = Path(INITDB).resolve().parent
    home = Path(tempfile.mkdtemp(prefix="fmtui-pg-"))  # not pytest's tmp_path: the server user must reach it
    home.chmod(0o755)
    data, port = home / "data", _free_port()
    if os.geteuid() == 0:
        shutil.chown(home, "nobody", "nogroup")
    env = {**os.environ, "LC_ALL": "C"}
    run = [*_as_server_user()]
    subprocess.run([*run, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "fmtui", "-E", "UTF8",
                    "--no-sync"],
                   check=True, capture_output=True, env=env, timeout=120)
    subprocess.run([*run, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(home / "log"), "-w", "-t", "60", "-o",
                    f"-k {home} -p {port} -c listen_addresses='' -c fsync=off", "start"],
                   check=True, capture_output=True, env=env, timeout=90)
    try:
        yield f"postgresql://fmtui@/postgres?host={home}&port={port}"
    finally:
        subprocess.run([*run, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True, env=env, timeout=60)
        shutil.rmtree(home, ignore_errors=True)


def test_two_workers_share_a_study_in_postgresql(postgres_url, tiny_data, tmp_path, spawned):
    """The documented many-machines setup: two workers, one PostgreSQL URL, N trials between them, none twice."""
    preset = tmp_path / "tiny.toml"
    preset.write_text(TINY)
    runs = tmp_path / "runs"
    args = sweep_args(preset, tiny_data, runs, 4, "--json", "--storage", postgres_url)
    workers = [start(args, spawned) for _ in range(2)]
    outputs = [w.communicate(timeout=240) for w in workers]
    for worker, (_, err) in zip(workers, outputs):
        assert worker.returncode == 0, err
    ended = sorted(json.loads(line)["trial"] for out, _ in outputs for line in out.splitlines()
                   if json.loads(line)["event"] == "trial_ended")
    assert ended == [0, 1, 2, 3]
    assert not (runs / "sweeps.db").exists(), "the study lives in the server, not in the runs directory"
    study = optuna.load_study(study_name="tiny-sweep",
                              storage=postgres_url.replace("postgresql://", "postgresql+psycopg://"))
    done = [t for t in study.trials if not t.user_attrs.get("surplus")]
    assert len(done) == 4 and all(t.state.name in ("COMPLETE", "PRUNED") for t in done)
    watched = subprocess.run([sys.executable, "-m", "fmtui", "sweep", "--study", "tiny-sweep", "--watch", "--json",
                              "--storage", postgres_url], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert watched.returncode == 0, watched.stderr
    assert json.loads(watched.stdout.splitlines()[-1])["done"] == 4
