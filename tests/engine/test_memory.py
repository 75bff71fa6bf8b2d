"""A run on a CPU keeps the memory its steps free: later steps fault in no pages from the kernel."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import make_dataset

ROOT = Path(__file__).resolve().parents[2]

# Runs in a process of its own: the allocator setting is process-wide and lasts, and the first run of a
# test process would otherwise decide it for every later one.
SCRIPT = """
import resource, sys
from pathlib import Path
from fmtui.core.config.settings import TrainConfig
from fmtui.core.data.fashion_mnist import load_fashion_mnist
from fmtui.core.engine.session import prepare

config = TrainConfig(model="tinyvgg", batch_size=128, epochs=3, val_size=100, device="cpu")
session = prepare(config, lambda: load_fashion_mnist(Path(sys.argv[1]), download=False))
faults = []
for epoch in (1, 2, 3):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    session.train_epoch(epoch, lambda batch: (False, 0.0), lambda *progress: None)
    faults.append((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / session.steps_per_epoch)
print(faults[-1])
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator, on Linux")
def test_training_steps_on_a_cpu_reuse_freed_memory_instead_of_faulting_it_back(tmp_path):
    """Once warm, a CPU run's training steps fault in (nearly) no pages (about 1,000-2,500 a TinyVGG step
    where glibc hands freed activations back to the kernel)."""
    data = make_dataset(tmp_path, train_per_class=140)  # 1,400 images: 10 steps of 128 after validation's 100
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(data)], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert float(done.stdout.strip().splitlines()[-1]) < 50
