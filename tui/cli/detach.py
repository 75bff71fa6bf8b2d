"""`fmtui train --detach`: the same command, without --detach, in a new session (so the terminal's
SIGHUP never reaches it), its output in a log; this process waits only until the run directory
exists, prints it and how to attach, and returns."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from rich.text import Text

from fmtui.core.engine.events import Event, RunFailed, RunFinished, RunStarted
from fmtui.core.errors import FmtuiError
from fmtui.core.records.files import atomic_write_json, read_json
from fmtui.tui.cli.streams import console

START_TIMEOUT = 600.0  # loading the data and building the model; a run slower than that is still told about


def announcer(path: Path) -> Callable[[Event], None]:
    """A subscriber writing the run directory (or how the run ended before it had one) to ``path``."""

    def announce(event: Event) -> None:
        if isinstance(event, RunStarted):
            atomic_write_json(path, {"run_dir": event.run_dir})
        elif isinstance(event, (RunFinished, RunFailed)) and not path.exists():
            atomic_write_json(path, {"run_dir": event.run_dir, "ended": event.to_dict()})

    return announce


def start_detached(args: list[str], runs_dir: Path) -> int:
    runs_dir.mkdir(parents=True, exist_ok=True)
    stem = runs_dir / f".detached-{os.getpid()}-{time.time_ns()}"
    log, announce = stem.with_suffix(".log"), stem.with_suffix(".json")
    with open(log, "wb") as out:
        os.chmod(log, 0o600)
        child = subprocess.Popen([sys.executable, "-m", "fmtui", *args, "--announce", str(announce)],
                                 stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True)
    deadline = time.monotonic() + START_TIMEOUT
    while not announce.exists():
        if child.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-5:]
            raise FmtuiError(f"the detached run ended before it began (exit code {child.returncode}):\n"
                             + "\n".join(tail) + f"\n(the whole log: {log})")
        if time.monotonic() > deadline:
            console().print(Text(f"The detached run (process {child.pid}) is still starting; its log: {log}"))
            return 0
        time.sleep(0.1)
    told = read_json(announce)
    announce.unlink(missing_ok=True)
    run_dir = told.get("run_dir") if isinstance(told, dict) else None
    if run_dir:
        target = Path(run_dir) / "train.log"
        try:
            os.replace(log, target)  # the child keeps writing to it: renaming moves the open file
            log = target
        except OSError:
            pass
    out = console(soft_wrap=True)  # paths whole, to be copied
    ended = told.get("ended") if isinstance(told, dict) else None
    if isinstance(ended, dict):
        if ended.get("event") == "run_failed":
            raise FmtuiError(f"the detached run failed as it began: {ended.get('error')} (its log: {log})")
        out.print(Text(f"The detached run ended as it began ({ended.get('status')}); its log: {log}"))
        return 0
    out.print(Text(f"Training in the background (process {child.pid}): {run_dir}"))
    out.print(Text(f"  watch and steer it: fmtui attach {run_dir}"))
    out.print(Text(f"  its output:         {log}"))
    return 0
