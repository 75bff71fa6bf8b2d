"""The training loop itself: one epoch of training, one pass of evaluation, and their parts.

Kept free of threads, records and events so it reads top to bottom like a tutorial loop; the
``Trainer`` (fmtui.core.engine.trainer) wraps it with control, reporting and persistence.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.lr_scheduler import CosineAnnealingLR, LambdaLR, LRScheduler, OneCycleLR, StepLR
from torch.optim.swa_utils import AveragedModel

from fmtui.core.config.settings import TrainConfig
from fmtui.core.data.augment import Augment, scaled
from fmtui.core.data.fashion_mnist import SIDE
from fmtui.core.data.splits import Split, batches, normalize
from fmtui.core.errors import ConfigError, DeviceError

PROGRESS_INTERVAL = 0.1  # seconds between progress reports (about ten a second)


def resolve_device(name: str) -> torch.device:
    """'auto' picks CUDA when PyTorch sees a GPU; asking for CUDA without one is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DeviceError(f"--device {name}: PyTorch sees no CUDA GPU on this machine. "
                              f"Use --device cpu (or auto, which falls back to the CPU).")
        index = int(name.partition(":")[2] or 0)
        if index >= torch.cuda.device_count():
            raise DeviceError(f"--device {name}: this machine has {torch.cuda.device_count()} CUDA GPU(s), "
                              f"numbered from 0.")
    return torch.device(name)


def check_compiler(device: torch.device) -> None:
    """torch.compile's default backend generates C++ (on a CPU) or Triton (on a GPU) and needs a compiler
    for it; without one the run would fail at its first batch, after the data had loaded."""
    try:
        if device.type == "cuda":
            from torch.utils._triton import has_triton

            missing = "" if has_triton() else "Triton (pip install triton)"
        else:
            from torch._inductor.cpp_builder import get_cpp_compiler

            try:
                get_cpp_compiler()
                missing = ""
            except RuntimeError:  # InvalidCxxCompiler
                missing = "a C++ compiler (g++ or clang++ on the PATH, or one named by $CXX)"
    except (ImportError, AttributeError):
        return  # PyTorch moved these private helpers: the first batch will say what is missing
    if missing:
        raise ConfigError(f"compile = true: torch.compile needs {missing} on this machine and finds none. "
                          f"Install it, or set compile = false.")


def cpu_has_bf16() -> bool:
    """Whether this CPU does bfloat16 arithmetic in hardware (AVX512-BF16, or AMX tiles), as PyTorch's own
    CPU feature checks (those oneDNN's kernels go by) report it; False where PyTorch lacks the checks."""
    checks = (getattr(torch.cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"))
    return any(check() for check in checks if check is not None)


def uses_bf16(device: torch.device, cpu_precision: str, convolutional: bool) -> bool:
    """Whether a run of ``cpu_precision`` (a TrainConfig setting) computes in bfloat16 on ``device``: on GPUs
    always (tensor-core speed without the loss scaling fp16 needs); on a CPU when asked, or with "auto"
    for a convolutional model where the CPU has the instructions (it pays there, about 2.5x for TinyVGG;
    emulated it costs, and a linear model, bound by memory, gains nothing and keeps its float32 result)."""
    if device.type == "cuda":
        return True
    if device.type != "cpu":
        return False
    return cpu_precision == "bf16" or (cpu_precision == "auto" and convolutional and cpu_has_bf16())


def eval_batch_size(device: torch.device) -> int:
    """Images per evaluation batch: 1,000 on a GPU, which wants large batches; 256 on a CPU, where a batch of
    1,000 spills a CNN's activations out of the caches (TinyVGG's first block alone holds 50 MB of them in
    bfloat16) and the same 10,000 images took 1.7 times as long (docs/results.md)."""
    return 256 if device.type == "cpu" else 1000


def autocast(device: torch.device, bf16: bool) -> contextlib.AbstractContextManager:
    return torch.autocast(device.type, dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """AdamW or Nesterov SGD; a model with pretrained layers (``parameter_groups``) gets them at
    ``backbone_lr`` x lr."""
    groups: list[dict] | object = model.parameters()
    if hasattr(model, "parameter_groups"):
        pretrained, new = model.parameter_groups()
        groups = [{"params": pretrained, "lr": config.lr * config.backbone_lr}, {"params": new, "lr": config.lr}]
    if config.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=config.lr, momentum=0.9, nesterov=True, weight_decay=config.weight_decay)
    return torch.optim.AdamW(groups, lr=config.lr, weight_decay=config.weight_decay)


def make_scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig, steps_per_epoch: int) -> LRScheduler:
    """Every schedule is stepped once per batch, so all of them see the same clock."""
    total = config.epochs * steps_per_epoch

    def warm_up_then(anneal: str) -> LRScheduler:
        """The peak lr after ``warmup`` of the steps, then down to (nearly) zero at the last one."""
        return OneCycleLR(optimizer, max_lr=[g["lr"] for g in optimizer.param_groups], total_steps=total,
                          pct_start=config.warmup, anneal_strategy=anneal)

    schedules: dict[str, Callable[[], LRScheduler]] = {
        "constant": lambda: LambdaLR(optimizer, _constant),
        "step": lambda: StepLR(optimizer, step_size=config.step_every * steps_per_epoch, gamma=config.step_gamma),
        "cosine": lambda: CosineAnnealingLR(optimizer, T_max=total),
        "onecycle": lambda: warm_up_then("cos"),
        "linear": lambda: warm_up_then("linear"),
    }
    return schedules[config.schedule]()


def make_ema(model: nn.Module, decay: float) -> AveragedModel | None:
    """An exponential moving average of the weights (and BatchNorm statistics), or None when ``decay`` is 0.

    The decay warms up as min(decay, (1 + n) / (10 + n)) after n updates (as TensorFlow's and timm's
    averages do): a fixed 0.999 would keep most of the random initial weights for the first thousand
    steps, and the validation curve would sit near chance for the first epochs of a run.
    """
    if not decay:
        return None

    @torch.no_grad()
    def update(averaged: list[torch.Tensor], current: list[torch.Tensor], n: torch.Tensor) -> None:
        if not torch.is_floating_point(averaged[0]):  # BatchNorm's batch counters: follow the model
            torch._foreach_copy_(averaged, current)
            return
        n = n.to(averaged[0].dtype)
        weight = 1 - torch.clamp((1 + n) / (10 + n), max=decay)  # a tensor: no device sync per step
        torch._foreach_lerp_(averaged, current, weight)

    return AveragedModel(model, multi_avg_fn=update, use_buffers=True)


def _constant(step: int) -> float:  # a named function, so the scheduler's state stays picklable
    return 1.0


def prepare_inputs(images: torch.Tensor, channels_last: bool, augment: Augment | None = None,
                   generator: torch.Generator | None = None, side: int = SIDE) -> torch.Tensor:
    x = scaled(images.float().div_(255), side)
    if augment is not None and augment.active:
        x = augment(x, generator)
    x = normalize(x)
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


@dataclass
class EpochResult:
    loss: float
    accuracy: float
    images: int
    seconds: float  # active time, pauses excluded
    lr: float  # of the epoch's last optimiser step (after it, a schedule's end can dip below 0)
    diverged: bool = False
    stopped: bool = False  # a stop was requested before the epoch's last batch


Progress = Callable[[int, int, float, int, float], None]  # batch, batches, mean loss, images, seconds


def train_one_epoch(model: nn.Module, split: Split, optimizer: torch.optim.Optimizer, scheduler: LRScheduler,
                    *, config: TrainConfig, device: torch.device, channels_last: bool,
                    generator: torch.Generator, after_step: Callable[[nn.Module], None] | None = None,
                    at_batch_boundary: Callable[[int], tuple[bool, float]] = lambda batch: (False, 0.0),
                    on_progress: Progress | None = None, side: int = SIDE) -> EpochResult:
    """One pass over ``split`` on images of ``side`` x ``side``; ``at_batch_boundary(batch)`` returns (stop
    now?, seconds spent paused), and ``after_step(model)`` follows each optimiser step (a weight average's
    update)."""
    model.train()
    bf16 = uses_bf16(device, config.cpu_precision, convolutional=channels_last)
    augment = Augment(config.flip, config.shift, config.rotate, config.erase)
    batches_total = len(split) // config.batch_size
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), dtype=torch.long, device=device)
    window_loss, window_batches = torch.zeros((), device=device), 0
    images = 0
    start = last_report = time.perf_counter()
    paused = 0.0
    lr = optimizer.param_groups[0]["lr"]
    for batch, (xb, yb) in enumerate(batches(split, config.batch_size, generator=generator, drop_last=True), 1):
        stop, paused_now = at_batch_boundary(batch)
        paused += paused_now
        if stop:
            return EpochResult(_mean(loss_sum, images), _mean(correct, images), images,
                               time.perf_counter() - start - paused, lr, stopped=True)
        x = prepare_inputs(xb, channels_last, augment, generator, side)
        with autocast(device, bf16):
            logits = model(x)
            loss = F.cross_entropy(logits, yb, label_smoothing=config.label_smoothing)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        lr = optimizer.param_groups[0]["lr"]
        scheduler.step()
        if after_step is not None:
            after_step(model)

        # Accumulate on the device; reading a value back (.item()) is a GPU sync, done only to report.
        loss = loss.detach()
        loss_sum += loss * len(yb)
        correct += (logits.argmax(1) == yb).sum()
        window_loss += loss
        window_batches += 1
        images += len(yb)
        now = time.perf_counter()
        if now - last_report >= PROGRESS_INTERVAL or batch == batches_total:
            mean = window_loss.item() / window_batches  # note: a CPU-GPU sync point
            if not math.isfinite(mean):
                return EpochResult(mean, _mean(correct, images), images, now - start - paused, lr, diverged=True)
            if on_progress is not None:
                on_progress(batch, batches_total, mean, images, now - start - paused)
            window_loss.zero_()
            window_batches = 0
            last_report = now
    return EpochResult(_mean(loss_sum, images), _mean(correct, images), images,
                       time.perf_counter() - start - paused, lr)


def _mean(total: torch.Tensor, count: int) -> float:
    return total.item() / count if count else float("nan")


class Abandoned(Exception):
    """An evaluation stopped part-way because the run must end now (its ``keep_going`` said so)."""


@dataclass(frozen=True)
class Evaluation:
    loss: float
    accuracy: float
    predictions: np.ndarray  # (N,) int64, in the split's order
    labels: np.ndarray
    confidences: np.ndarray  # (N,) float32: the softmax probability of each prediction


@torch.inference_mode()
def evaluate(model: nn.Module, split: Split, *, device: torch.device, channels_last: bool,
             tta_flip: bool = False, bf16: bool = False,
             keep_going: Callable[[], bool] = lambda: True) -> Evaluation:
    """Loss, accuracy, predictions and their confidences on a whole split, with optional mirror-image
    averaging. The confidences come from the same logits, so views of single images cost no extra pass.

    ``keep_going`` is asked before each batch (the test split of a CNN takes seconds on a CPU); when it
    says no, Abandoned is raised."""
    model.eval()
    loss_sum = torch.zeros((), device=device)
    predictions, confidences = [], []
    for xb, yb in batches(split, eval_batch_size(device)):
        if not keep_going():
            raise Abandoned
        x = prepare_inputs(xb, channels_last)
        with autocast(device, bf16):
            logits = model(x)
            if tta_flip:
                logits = (logits + model(x.flip(3))) / 2
        logits = logits.float()
        loss_sum += F.cross_entropy(logits, yb, reduction="sum")
        confidence, predicted = logits.softmax(1).max(1)  # max picks the first of equals, as argmax does
        predictions.append(predicted)
        confidences.append(confidence)
    preds = torch.cat(predictions).cpu().numpy()
    labels = split.labels.cpu().numpy()
    return Evaluation(loss_sum.item() / len(split), float((preds == labels).mean()), preds, labels,
                      torch.cat(confidences).cpu().numpy())
