"""The Explain view: why the current run's model decides as it does, from its best weights so far.

Three sections, one key each: the image selected in the examples view (where the model looked: maps
toward the class it said and the true class, and a CNN's feature maps), what the model learned (a
linear model's class templates under the class means, a CNN's first-layer filters), and the examples
view's confusion cell (the two classes' means, their difference, the average map over its mistakes).

Each is computed in a thread worker (an average over a cell's mistakes takes seconds for a CNN on a
CPU) that posts its result and its progress back; the newest request cancels an older one. Nothing is
computed while the view is hidden.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from rich.console import Group, RenderableType
from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widget import Widget
from textual.worker import get_current_worker

from fmtui.core.config.settings import TrainConfig
from fmtui.core.engine.events import Evaluated, Event, RunStarted
from fmtui.core.errors import FmtuiError
from fmtui.tui.monitor.widgets.examples import ExamplesView
from fmtui.tui.monitor.widgets.explain_map import models

SECTIONS = {"image": "i", "learned": "l", "pair": "d"}  # section -> its key
AGNOSTIC = ("ig", "occlusion", "saliency")  # g cycles the model-agnostic map through these
WAITING = "The explanations appear when the first epoch has been validated: they read the run's best.pt."


class ExplainView(Widget, can_focus=True):
    DEFAULT_CSS = """
    ExplainView { height: auto; padding: 0 1; }
    """
    BINDINGS = [
        *(Binding(key, f"section('{name}')", name.title(), show=False) for name, key in SECTIONS.items()),
        Binding("g", "next_method", "Method", show=False),
    ]

    class Ready(Message):
        """What the worker computed for ``key`` (or why it could not)."""

        def __init__(self, key: tuple, payload: Any, problem: str = "") -> None:
            super().__init__()
            self.key, self.payload, self.problem = key, payload, problem

    class Progress(Message):
        def __init__(self, key: tuple, done: int, total: int) -> None:
            super().__init__()
            self.key, self.done, self.total = key, done, total

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.section = "image"
        self.method = AGNOSTIC[0]
        self.run_dir: str | None = None
        self._key: tuple | None = None  # what is shown or being computed
        self._payload: Any = None
        self._status = Text(WAITING, style="dim")

    # --- state -----------------------------------------------------------------------------------

    def reset(self, config: TrainConfig) -> None:
        self.run_dir, self._key, self._payload = None, None, None
        self._status = Text(WAITING, style="dim")
        self.refresh(layout=True)

    def follow(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.run_dir = event.run_dir
        elif isinstance(event, Evaluated) and self.is_on_screen:
            self.request()  # a new epoch may bring new best weights

    def on_show(self) -> None:
        self.request()

    def action_section(self, name: str) -> None:
        self.section = name
        self.request()

    def action_next_method(self) -> None:
        self.method = AGNOSTIC[(AGNOSTIC.index(self.method) + 1) % len(AGNOSTIC)]
        self.request()

    def request(self) -> None:
        """Compute what the section shows, unless it is already shown (or on its way)."""
        examples = self.app.query_one(ExamplesView)
        chosen = examples.selection()
        if self.run_dir is None or chosen is None or examples.evaluation is None:
            return
        images, labels, index, cell = chosen
        e = examples.evaluation
        what = {"image": index, "learned": None, "pair": cell}[self.section]
        key = (self.run_dir, e.split, e.epoch, self.section, self.method, what)
        if key == self._key:
            return
        self._key = key
        self._status = Text("computing…", style="dim")
        self.refresh(layout=True)
        self.run_worker(lambda: self._compute(key, images, labels, index, cell), thread=True, exclusive=True,
                        group="explain", name="fmtui-explain")

    # --- the worker --------------------------------------------------------------------------------

    def _compute(self, key: tuple, images: np.ndarray, labels: np.ndarray, index: int,
                 cell: tuple[int, int]) -> None:
        from fmtui.core.explain import learned
        from fmtui.core.explain.attributions import methods_for
        from fmtui.core.explain.one_image import explain_image
        from fmtui.core.explain.pairs import explain_pair

        worker = get_current_worker()
        run_dir, split, _, section, method, _ = key
        try:
            loaded = models().get(run_dir)
            if section == "image":
                e = explain_image(loaded, images, labels, index, methods_for(loaded, method))
                features = learned.feature_maps(loaded, e.image) if loaded.convolutions else None
                parts: dict[str, Any] = {"explanation": e, "features": features}
            elif section == "learned" and loaded.convolutions:
                parts = {"filters": learned.first_filters(loaded)}
            elif section == "learned":
                parts = {"templates": learned.templates(loaded),
                         "means": learned.class_means(images, labels, len(loaded.class_names))}
            else:
                parts = {"pair": explain_pair(loaded, images, labels, *cell, method,
                                              progress=lambda done, total: self.post_message(
                                                  self.Progress(key, done, total)))}
        except FmtuiError as exc:
            message = self.Ready(key, None, str(exc))
        else:
            message = self.Ready(key, (split, loaded, parts))
        if not worker.is_cancelled:
            self.post_message(message)

    def on_explain_view_ready(self, message: Ready) -> None:
        if message.key != self._key:
            return  # an answer to an older question
        self._payload = message.payload
        if self.parent is not None and hasattr(self.parent, "scroll_home"):
            self.parent.scroll_home(animate=False)  # a new answer is read from its top
        self._status = Text(message.problem, style="red1") if message.problem else Text("")
        if message.problem:
            self._key = None  # asked again on the next epoch or key press
        self.refresh(layout=True)

    def on_explain_view_progress(self, message: Progress) -> None:
        if message.key == self._key:
            self._status = Text(f"averaging the maps of the mistakes: {message.done:,} of {message.total:,}",
                                style="dim")
            self.refresh(layout=True)

    # --- drawing ---------------------------------------------------------------------------------

    def render(self) -> RenderableType:
        from fmtui.tui.render import explanations as draw

        keys = Text("  " + " ".join(f"{key} {name}" for name, key in SECTIONS.items()) + f" · g {self.method}",
                    style="dim")
        if self._payload is None:
            return Group(keys, self._status)
        split, loaded, parts = self._payload
        width = max(self.size.width, 40)
        where = "test" if split == "test" else "validation"
        head = Text.assemble((f"{loaded.name}", "bold"), f" epoch {loaded.checkpoint.epoch}, {where} images", keys,
                             no_wrap=True, overflow="ellipsis")
        names = loaded.class_names
        if "explanation" in parts:
            body = draw.image_view(parts["explanation"], names, width, features=parts["features"],
                                   split="test" if split == "test" else "val")
        elif "pair" in parts:
            body = draw.pair_view(parts["pair"], names, width)
        elif "templates" in parts:
            body = draw.templates_view(parts["templates"], parts["means"], names, width)
        else:
            body = draw.filters_view(parts["filters"], width)
        return Group(head, *([self._status] if self._status.plain else []), body)
