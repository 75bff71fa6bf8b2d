"""The predict dialog: a photo's path in, the 28 x 28 picture the model sees and its three likeliest classes
out, from a run's best weights (the newest run's, unless another run directory is typed) — `fmtui
predict` inside the monitor."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Label, Static

from fmtui.core.errors import FmtuiError
from fmtui.core.records.run_dir import RunRecord


def newest_trained(records: list[RunRecord]) -> str:
    """The newest run (``records`` oldest first, as the runs listing gives them) with best weights, or ''."""
    return next((str(r.path) for r in reversed(records) if r.best_path.is_file()), "")


class PredictScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    PredictScreen { align: center middle; }
    PredictScreen > Vertical { width: 78; max-width: 100%; height: auto; max-height: 100%;
                               border: thick $primary; background: $surface; padding: 0 1; }
    PredictScreen Horizontal { height: 1; }
    PredictScreen Horizontal Label { width: 7; }
    PredictScreen Input { width: 1fr; }
    PredictScreen #result { height: auto; }
    PredictScreen #problem { color: $error; height: auto; }
    PredictScreen .hint { color: $text-muted; }
    """

    BINDINGS = [Binding("escape", "dismiss(None)", "Close")]

    def __init__(self, past_runs: Callable[[], list[RunRecord]]) -> None:
        super().__init__()
        self.past_runs = past_runs
        self._classifiers: dict[str, object] = {}  # by run path: the model is built once per dialog

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Classify a photo"
            with Horizontal():
                yield Label("run")
                yield Input(id="run", placeholder="a run directory (or its best.pt)", compact=True)
            with Horizontal():
                yield Label("photo")
                yield Input(id="photo", placeholder="path to a PNG or JPEG of one garment", compact=True)
            yield Static(id="result")
            yield Static(id="problem")
            yield Label("Enter classify  Tab run/photo  Esc close", classes="hint")
        yield Footer()

    def on_mount(self) -> None:
        try:
            self.query_one("#run", Input).value = newest_trained(self.past_runs())
        except FmtuiError as exc:
            self._problem(str(exc))
        self.query_one("#photo", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        run, photo = self.query_one("#run", Input).value.strip(), self.query_one("#photo", Input).value.strip()
        if not run:
            self._problem("run: type a run directory; no run in the runs directory has best weights yet.")
            return
        if not photo:
            self.query_one("#photo", Input).focus()
            self._problem("photo: type the path of a PNG or JPEG file.")
            return
        self._problem("classifying…")
        self._classify(run, Path(photo).expanduser())

    @work(thread=True, exclusive=True)
    def _classify(self, run: str, photo: Path) -> None:
        # Off the UI thread: torch loads, the model is built and the photo decoded, for a second or more.
        from fmtui.core.predict.convert import to_fashion_mnist
        from fmtui.core.predict.model import Classifier

        try:
            image = to_fashion_mnist(photo)
            classifier = self._classifiers.get(run)
            if classifier is None:
                classifier = self._classifiers[run] = Classifier.from_run(Path(run).expanduser())
            (guess,) = classifier.guesses(image[None])
        except FmtuiError as exc:
            self.app.call_from_thread(self._problem, str(exc))
            return
        self.app.call_from_thread(self._show, str(photo), image, guess.named())

    def _show(self, name: str, image, guesses) -> None:  # type: ignore[no-untyped-def]
        from fmtui.tui.render.prediction import prediction_view

        self.query_one("#result", Static).update(prediction_view(name, image, guesses))
        self._problem("")

    def _problem(self, message: str) -> None:
        self.query_one("#problem", Static).update(Text(message))
