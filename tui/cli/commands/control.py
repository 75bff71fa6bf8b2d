"""`fmtui pause|resume|stop RUN`: steer a live run from a script or another terminal.

RUN is a run directory, or a run id under --runs-dir. A run that is not live (finished, killed, on
another machine) is refused with exit code 2 and a message saying what it is.
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text

from fmtui.core.live.control_client import send
from fmtui.tui.cli.app import Debug, Run, RunsDir, app, guarded, run_path
from fmtui.tui.cli.streams import console

# What each command says once the run has taken it up ("ok"). A run that already was as asked answers
# "unchanged: WHY", said as it is (exit code 0); one that cannot do it answers an error (exit code 2).
REQUESTS = {"pause": "pausing at its next training batch",
            "resume": "resumed",
            "stop": "stopping: its best weights are tested and its record completed"}


def request(command: str, run: Path, runs_dir: Path) -> int:
    path = run_path(run, runs_dir)
    answer = send(path, command)
    if answer.startswith("unchanged:"):
        told = f"{command} changed nothing: {answer[len('unchanged:'):].strip()}"
    else:
        told = REQUESTS[command]
    console(soft_wrap=True).print(Text(f"{path}: {told}."))
    return 0


@app.command()
def pause(run: Run, runs_dir: RunsDir = Path("runs"), debug: Debug = False) -> None:
    """Pause a live run at its next batch boundary."""
    guarded(debug, lambda: request("pause", run, runs_dir))


@app.command()
def resume(run: Run, runs_dir: RunsDir = Path("runs"), debug: Debug = False) -> None:
    """Resume a paused live run (to continue a run that ended, use `fmtui train --resume`)."""
    guarded(debug, lambda: request("resume", run, runs_dir))


@app.command()
def stop(run: Run, runs_dir: RunsDir = Path("runs"), debug: Debug = False) -> None:
    """Stop a live run: it tests its best weights and completes its record."""
    guarded(debug, lambda: request("stop", run, runs_dir))
