"""A run on a CPU keeps the memory its steps free: later steps fault in far fewer pages from the kernel."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import make_dataset

ROOT = Path(__file__).resolve().parents[2]

# Runs in a process of its own: the allocator setting is process-wide and lasts, and the first run of a
# test process would otherwise decide it for every later one. With "default", the run leaves glibc as it
# found it, which is what the kept memory is measured against.
SCRIPT = """
import resource, sys
from pathlib import Path
from fmtui.core.config.settings import TrainConfig
from fmtui.core.data.fashion_mnist import load_fashion_mnist
from fmtui.core.engine import session as engine

if sys.argv[2] == "default":
    engine.keep_freed_memory = lambda: False
config = TrainConfig(model="tinyvgg", batch_size=128, epochs=3, val_size=100, device="cpu")
run = engine.prepare(config, lambda: load_fashion_mnist(Path(sys.argv[1]), download=False))
for epoch in (1, 2, 3):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    run.train_epoch(epoch, lambda batch: (False, 0.0), lambda *progress: None)
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / run.steps_per_epoch)
"""


def faults_per_step(data: Path, allocator: str) -> float:
    """Page faults per training step in the third epoch of a fresh process."""
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(data), allocator], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return float(done.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator, on Linux")
def test_training_steps_on_a_cpu_reuse_freed_memory_instead_of_faulting_it_back(tmp_path):
    """Once warm, a CPU run's training steps fault in a small part of the pages they would where glibc
    hands freed activations back to the kernel (about 1,000-3,000 a TinyVGG step against 0-200)."""
    data = make_dataset(tmp_path, train_per_class=140)  # 1,400 images: 10 steps of 128 after validation's 100
    default = faults_per_step(data, "default")
    if default < 200:
        pytest.skip(f"this C library faults in only {default:.0f} pages a step by itself")
    kept = faults_per_step(data, "keep")
    assert kept < default / 4, (kept, default)
