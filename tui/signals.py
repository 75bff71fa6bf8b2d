"""The signals that end a run cleanly, saved as interrupted: in headless mode and in the monitor alike."""

from __future__ import annotations

import signal

# Ctrl-C, `kill`, and the SSH connection dropping (SIGHUP, which Windows does not have).
HANDLED_SIGNALS = tuple(s for s in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)) if s)
