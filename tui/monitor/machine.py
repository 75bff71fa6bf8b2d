"""What the machine is doing, for the status line: GPU memory and utilisation on CUDA, CPU use on a CPU.

A sampler is made when a run starts (the status line samples it at most once a second while the run
is active, and never before a run, so the first screen imports nothing for it). torch is imported only
for a CUDA run, by which time the trainer has loaded it.

The CPU figure is the training process's: this process's own for a run trained here, and for a run
attached to (in another process) that process's, found from the run's lock (its holder's PID) and read
from /proc. Where that cannot be read (another system, the process gone), no figure is shown rather
than this monitor's own.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

from fmtui.core.records.lock import LOCK_NAME, holder, is_live


class MachineSampler:
    def __init__(self, device: str, run_dir: str | Path | None = None) -> None:
        """``device``: RunStarted's, such as 'cpu bf16 (2 threads)' or 'cuda:0 bf16 (NVIDIA H100 80GB HBM3)';
        ``run_dir``: its run directory, whose lock says which process trains it."""
        self.device = device.split(" ", 1)[0]
        self.pid = _training_process(run_dir)  # None: this one
        self._wall, self._cpu = time.monotonic(), self._cpu_seconds()
        self._utilisation = True  # torch.cuda.utilization needs pynvml; without it, memory only

    def sample(self) -> str:
        return self._gpu() if self.device.startswith("cuda") else self._process_cpu()

    def _cpu_seconds(self) -> float | None:
        if self.pid is None:
            return time.process_time()
        return _proc_cpu_seconds(self.pid)

    def _process_cpu(self) -> str:
        """The training process's CPU time over the wall time since the last sample: 200% is two cores busy."""
        wall, cpu = time.monotonic(), self._cpu_seconds()
        elapsed, before = wall - self._wall, self._cpu
        self._wall, self._cpu = wall, cpu
        if cpu is None or before is None or elapsed <= 0:
            return ""
        return f"CPU {(cpu - before) / elapsed * 100:.0f}%"

    def _gpu(self) -> str:
        try:
            import torch

            index = torch.device(self.device).index or 0
            free, total = torch.cuda.mem_get_info(index)  # the whole card's, as nvidia-smi shows it
        except Exception:  # a driver hiccup must not break the status line; show nothing instead
            return ""
        text = f"GPU {(total - free) / 2**30:.1f}/{total / 2**30:.0f} GiB"
        if self._utilisation:
            try:
                text += f" {torch.cuda.utilization(index)}%"
            except Exception:  # ModuleNotFoundError (no pynvml) or an NVML error: stop asking
                self._utilisation = False
        return text


def _training_process(run_dir: str | Path | None) -> int | None:
    """The PID of the process training ``run_dir`` when it is another one on this machine; None when it
    is this process (or the run has no lock, as a scripted run's); -1 where the process cannot be told."""
    if run_dir is None:
        return None
    found = holder(Path(run_dir))
    if found is None:
        return None if not (Path(run_dir) / LOCK_NAME).exists() else -1
    pid, host = found
    if host != socket.gethostname():
        return -1
    if pid == os.getpid():
        return None
    return pid if is_live(Path(run_dir)) is True else -1


def _proc_cpu_seconds(pid: int) -> float | None:
    """User plus system CPU seconds of process ``pid`` (Linux's /proc), or None where they cannot be read."""
    if pid < 0:
        return None
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode("ascii", "replace")
        # The command name (field 2) is in parentheses and may hold spaces: the fields after its last ')'.
        fields = stat[stat.rindex(")") + 2:].split()
        ticks = int(fields[11]) + int(fields[12])  # utime and stime: fields 14 and 15 of the line
        return ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None
