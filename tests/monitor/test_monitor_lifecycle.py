"""How the monitor's process ends after a signal: the one watchdog both launchers use, and what it says."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from fmtui.tui.monitor import launch, lifecycle, sweep

ROOT = Path(__file__).resolve().parents[2]


def watchdog(body: str) -> subprocess.CompletedProcess:
    """Run ``body`` in a fresh interpreter with a short STUCK_SECONDS; the process as it ended."""
    script = textwrap.dedent("""
        import threading, time
        from fmtui.tui.monitor import lifecycle
        lifecycle.STUCK_SECONDS = 0.3
        app_done = threading.Event()
    """) + textwrap.dedent(body)
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=ROOT)


def test_an_app_stuck_after_a_signal_is_left_once_its_work_is_settled():
    """Should the app not close in time, the work is settled first, the note said, and the process exits."""
    ended = watchdog("""
        lifecycle.leave_if_stuck(app_done, code=129, settle=lambda: print("settled", flush=True),
                                 note="the terminal went away\\n")
        time.sleep(20)
        print("never here")
    """)
    assert ended.returncode == 129
    assert ended.stdout == "settled\n" and ended.stderr == "the terminal went away\n"


def test_an_app_that_closes_in_time_is_left_to_end_the_process_itself():
    """The app closing within STUCK_SECONDS stops the watchdog: nothing is settled twice, the exit is the app's."""
    ended = watchdog("""
        lifecycle.leave_if_stuck(app_done, code=129, settle=lambda: print("settled", flush=True))
        app_done.set()
        time.sleep(1.0)
        print("went on")
    """)
    assert (ended.returncode, ended.stdout, ended.stderr) == (0, "went on\n", "")


def test_the_stuck_clock_starts_once_what_the_app_waits_for_is_done():
    """With ``first`` (a sweep's trial ending), the app gets its whole STUCK_SECONDS after that, not before."""
    ended = watchdog("""
        trial = threading.Event()
        threading.Timer(1.0, trial.set).start()
        threading.Timer(1.1, app_done.set).start()  # closes 0.1 s after the trial: in time
        lifecycle.leave_if_stuck(app_done, code=129, first=trial.wait, settle=lambda: print("settled"))
        time.sleep(1.6)
        print("went on")
    """)
    assert (ended.returncode, ended.stdout) == (0, "went on\n")


def test_both_launchers_end_the_process_through_the_one_lifecycle_module():
    """The monitor on runs and the monitor on a sweep share the watchdog and stderr, not copies of them."""
    for module in (launch, sweep):
        assert not hasattr(module, "_leave_if_stuck") and not hasattr(module, "_tell")
    assert launch.interrupted_note is lifecycle.interrupted_note
    assert sweep.leave_if_stuck is lifecycle.leave_if_stuck and launch.hang_up is lifecycle.hang_up


def test_telling_a_terminal_that_is_gone_is_no_error(monkeypatch):
    """Writing to stderr after the terminal went away (EIO) is skipped: the record already says it all."""

    class Gone:
        def write(self, text):
            raise OSError(5, "Input/output error")

        def flush(self):
            raise OSError(5, "Input/output error")

    monkeypatch.setattr(sys, "stderr", Gone())
    lifecycle.tell("interrupted\n")
