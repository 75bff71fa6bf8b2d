"""Time from starting `fmtui` to its first screen (the preset menu) in a real terminal: tmux at 80x24.

    python bench/first_screen.py [--runs 5] [--command "python -m fmtui"] [--cwd DIR]

Each run starts a detached tmux session of 80x24 running the command, reads the pane every 10 ms and
stops the clock when the menu's first preset row is drawn. Prints each time and the median.
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

MARKER = "linear"  # a preset row of the menu: drawn only once the first screen is up


def first_screen(command: str, cwd: str, timeout: float = 30.0) -> float:
    session = f"fmtui-first-screen-{time.monotonic_ns()}"
    with tempfile.TemporaryDirectory() as runs:
        started = time.monotonic()
        subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "80", "-y", "24", "-c", cwd,
                        f"{command} --runs-dir {shlex.quote(runs)}"], check=True)
        try:
            while time.monotonic() - started < timeout:
                pane = subprocess.run(["tmux", "capture-pane", "-p", "-t", session], capture_output=True,
                                      text=True).stdout
                if MARKER in pane:
                    return time.monotonic() - started
                time.sleep(0.01)
            raise SystemExit(f"no first screen after {timeout:.0f} s:\n{pane}")
        finally:
            subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--command", default=f"{shlex.quote(sys.executable)} -m fmtui")
    parser.add_argument("--cwd", default=".")
    args = parser.parse_args()
    first_screen(args.command, args.cwd)  # a first, uncounted run warms the file cache
    times = [first_screen(args.command, args.cwd) for _ in range(args.runs)]
    print("runs: " + ", ".join(f"{t:.2f} s" for t in times))
    print(f"median of {len(times)}: {statistics.median(times):.2f} s")


if __name__ == "__main__":
    main()
