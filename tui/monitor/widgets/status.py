"""The status line: what is training where, its state, what the machine is doing, and how long the run
has taken and will take."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive

from fmtui.core.config.settings import TrainConfig
from fmtui.core.engine.events import (
    BatchEnded,
    EpochEnded,
    Event,
    Paused,
    Resumed,
    RunFailed,
    RunFinished,
    RunStarted,
    StopRequested,
)
from fmtui.core.models import model_label
from fmtui.tui.monitor.machine import MachineSampler
from fmtui.tui.monitor.widgets import ThrottledWidget
from fmtui.tui.render import format as fmt

MACHINE_SECONDS = 1.0  # how often the machine is sampled while a run is active
ACTIVE = ("running", "paused", "stopping")

# Badges in 256-colour names so they read the same in tmux without true colour.
STATE_STYLES = {
    "ready": "bold black on grey70", "starting": "bold black on grey70", "running": "bold black on green3",
    "paused": "bold black on gold1", "stopping": "bold black on dark_orange", "finished": "bold white on blue",
    "stopped": "bold white on blue", "interrupted": "bold black on dark_orange",
    "diverged": "bold white on red3", "failed": "bold white on red3", "pruned": "bold white on magenta",
    "watching": "bold black on grey70", "complete": "bold white on blue",  # a sweep with nothing left to run
}


class StatusLine(ThrottledWidget):
    """One line: state badge, preset and model, parameters, device; on the right the machine's load
    (GPU memory and utilisation, or CPU use), elapsed time and ETA. Where the line is too short the
    parameter count goes first."""

    DEFAULT_CSS = """
    StatusLine { height: 1; width: 1fr; }
    """

    state: reactive[str] = reactive("ready")
    subject: reactive[str] = reactive("no run yet: press n to choose a preset")
    # Training time from the trainer's own events (pauses excluded), not the wall clock.
    elapsed: reactive[float | None] = reactive(None)
    eta: reactive[float | None] = reactive(None)
    machine: reactive[str] = reactive("")  # "CPU 187%" or "GPU 3.1/80 GiB 87%"

    _title = ""  # preset and model of the run being followed
    _short = ""  # the subject without the parameter count, for a short line
    _started = False
    _sampler: MachineSampler | None = None

    def on_mount(self) -> None:
        super().on_mount()
        self.set_interval(MACHINE_SECONDS, self._sample_machine)

    def reset(self, config: TrainConfig) -> None:
        self._title, self._started = _name(config.preset, config.model, config.trial), False
        self.state, self.subject = "starting", f"{self._title}: loading data"
        self._short, self._sampler, self.machine = "", None, ""
        self.elapsed = self.eta = None

    def _sample_machine(self) -> None:
        if self._sampler is not None and self.state in ACTIVE:
            self.machine = self._sampler.sample()

    def follow(self, event: Event) -> None:
        match event:
            case RunStarted():
                self._started = True
                self.state = "running"
                self.subject = (f"{_name(event.preset, event.model, event.config.get('trial', -1))} · "
                                f"{event.parameters:,} params · "
                                f"{event.device}")
                self._short = f"{_name(event.preset, event.model)} · {event.device}"
                self._sampler = MachineSampler(event.device, event.run_dir)  # the run's process, if attached
                self.elapsed, self.eta = 0.0, None
            case BatchEnded():
                # Ten a second: stored without a redraw; the timer shows them once a second.
                self.set_reactive(StatusLine.elapsed, event.elapsed_seconds)
                self.set_reactive(StatusLine.eta, event.eta_seconds)
                self.mark_stale()
            case EpochEnded():
                self.set_reactive(StatusLine.elapsed, event.elapsed_seconds)
                self.mark_stale()
            case Paused():
                self.state = "paused"
            case Resumed():
                self.state = "running"
            case StopRequested():
                self.state = "stopping"
            case RunFinished():
                self.state, self.elapsed, self.eta, self.machine = event.status, event.seconds, None, ""
            case RunFailed():
                self.state, self.eta, self.machine = "failed", None, ""
                if not self._started:
                    self.subject = f"{self._title}: did not start"

    def render(self) -> Text:
        # Plain styled text, not a rich Table: this line is redrawn with every batch event.
        times = []
        if self.elapsed is not None:
            times.append(f"elapsed {fmt.duration(self.elapsed)}")
        if self.eta is not None and self.state in ("running", "paused"):
            times.append(f"ETA {fmt.duration(self.eta)}")
        right = "  ".join(filter(None, [self.machine, *times]))
        line = Text(no_wrap=True)
        line.append(f" {self.state.upper()} ", style=STATE_STYLES.get(self.state, "reverse"))
        room = self.size.width - line.cell_len - len(right) - 2
        subject = self.subject if len(self.subject) <= room or not self._short else self._short
        subject = subject if len(subject) <= room else subject[:max(room - 1, 0)] + "…"
        line.append(f" {subject}")
        line.append(" " * max(1, self.size.width - line.cell_len - len(right)))
        line.append(right)
        return line


def _name(preset: str, model: str, trial: int = -1) -> str:
    model = model_label(model)  # your own model by its file and class, not its absolute path
    name = preset if preset == model else f"{preset} ({model})"
    return f"trial {trial} · {name}" if trial >= 0 else name  # a sweep's trial says which
