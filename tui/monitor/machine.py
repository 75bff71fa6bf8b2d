"""What the machine is doing, for the status line: GPU memory and utilisation on CUDA, CPU use on a CPU.

A sampler is made when a run starts (the status line samples it at most once a second while the run
is active, and never before a run, so the first screen imports nothing for it). torch is imported only
for a CUDA run, by which time the trainer has loaded it.
"""

from __future__ import annotations

import time


class MachineSampler:
    def __init__(self, device: str) -> None:
        """``device``: RunStarted's, such as 'cpu (2 threads)' or 'cuda:0 (NVIDIA H100 80GB HBM3)'."""
        self.device = device.split(" ", 1)[0]
        self._wall, self._cpu = time.monotonic(), time.process_time()
        self._utilisation = True  # torch.cuda.utilization needs pynvml; without it, memory only

    def sample(self) -> str:
        return self._gpu() if self.device.startswith("cuda") else self._process_cpu()

    def _process_cpu(self) -> str:
        """This process's CPU time over the wall time since the last sample: 200% is two cores busy."""
        wall, cpu = time.monotonic(), time.process_time()
        elapsed, used = wall - self._wall, cpu - self._cpu
        self._wall, self._cpu = wall, cpu
        return f"CPU {used / elapsed * 100:.0f}%" if elapsed > 0 else ""

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
