"""The number format a run computes in: bfloat16 where the hardware has it (found at run time), float32
elsewhere, said in the device name the status line and the logs show."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from fmtui.core.config.settings import TrainConfig
from fmtui.core.engine import loop
from fmtui.core.engine.events import RunStarted
from tests.support import run_trainer

CPU, GPU = torch.device("cpu"), torch.device("cuda")


@pytest.mark.parametrize("has_bf16", [True, False])
def test_auto_takes_bf16_for_a_cnn_only_where_the_cpu_has_the_instructions(monkeypatch, has_bf16):
    """auto: bf16 for a convolutional model on a CPU with AVX512-BF16 or AMX, float32 on one without (where
    bf16 is emulated and slower) and for the linear model; bf16 and fp32 are taken as said; GPUs use bf16."""
    monkeypatch.setattr(loop, "cpu_has_bf16", lambda: has_bf16)
    assert loop.uses_bf16(CPU, "auto", convolutional=True) is has_bf16
    assert loop.uses_bf16(CPU, "auto", convolutional=False) is False
    assert loop.uses_bf16(CPU, "bf16", convolutional=False) is True
    assert loop.uses_bf16(CPU, "fp32", convolutional=True) is False
    assert loop.uses_bf16(GPU, "fp32", convolutional=True) is True


def test_the_cpu_check_is_pytorch_s_own():
    """The check asks PyTorch's CPU feature tests; it answers a bool on any machine."""
    expected = any(getattr(torch.cpu, name, lambda: False)()
                   for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"))
    assert loop.cpu_has_bf16() is expected


def test_records_and_presets_that_say_cpu_bf16_keep_their_meaning():
    """An older record or preset with cpu_bf16 = true or false reads as cpu_precision bf16 or fp32: a resume
    or an eval computes as the run did."""
    assert TrainConfig.from_dict({"cpu_bf16": True}, "old").cpu_precision == "bf16"
    assert TrainConfig.from_dict({"cpu_bf16": False}, "old").cpu_precision == "fp32"
    assert TrainConfig().cpu_precision == "auto"


@pytest.mark.parametrize("precision", ["bf16", "fp32"])
def test_the_run_says_which_format_it_computes_in(tiny_config, tiny_data, runs_dir, precision):
    """RunStarted's device (the status line's and the log's) names the format actually used."""
    config = replace(tiny_config, model="tinyvgg", widths=(4, 8, 8), epochs=1, cpu_precision=precision)
    _, events = run_trainer(config, tiny_data, runs_dir)
    (started,) = [e for e in events if isinstance(e, RunStarted)]
    assert started.device == f"cpu {precision} ({torch.get_num_threads()} threads)"
