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
from fmtui.core.errors import FmtuiError, RecordError
from fmtui.core.records.files import NOFOLLOW, PRIVATE_FILE, atomic_write_json, read_json
from fmtui.tui.cli.streams import console

START_TIMEOUT = 600.0  # loading the data and building the model; a run slower than that is still told about


def announcer(path: Path) -> Callable[[Event], None]:
    """A subscriber writing, once, the run directory (or how the run ended before it had one) to ``path``.
    Once: the waiting process deletes the file when it has read it, and nothing should bring it back."""
    told = False

    def announce(event: Event) -> None:
        nonlocal told
        if told:
            return
        if isinstance(event, RunStarted):
            told = True
            atomic_write_json(path, {"run_dir": event.run_dir})
        elif isinstance(event, (RunFinished, RunFailed)):
            told = True
            atomic_write_json(path, {"run_dir": event.run_dir, "ended": event.to_dict()})

    return announce


def start_detached(args: list[str], runs_dir: Path) -> int:
    try:
        runs_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # read-only, or a regular file on the way
        raise RecordError(f"--runs-dir {runs_dir}: cannot be created: {exc.strerror or exc}. Choose a writable "
                          f"directory with --runs-dir.") from None
    stem = runs_dir / f".detached-{os.getpid()}-{time.time_ns()}"
    log, announce = stem.with_suffix(".log"), stem.with_suffix(".json")
    try:
        # A new file (never one someone left under this name, nor a link), the owner's alone from the start.
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW, PRIVATE_FILE)
    except OSError as exc:
        raise RecordError(f"--runs-dir {runs_dir}: cannot write there: {exc.strerror or exc}. Choose a writable "
                          f"directory with --runs-dir.") from None
    with open(fd, "wb") as out:
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
