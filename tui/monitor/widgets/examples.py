"""The images of one confusion-matrix cell: what the model gets wrong, or barely gets right, one by one.

Shown for the latest evaluation: the validation split during training, the test split once the best
weights are tested. The cell is the most confused pair until a person picks one in the confusion
matrix (arrows, then Enter). The selected image is drawn at full size with what it is, what the model
said and how sure it was; beside it, its page of the cell as half-size thumbnails, as many as fit.

Nothing here is drawn while the view is hidden: events only store references (the pixels arrive
once per run in DataLoaded; each evaluation brings predictions and confidences), and the pictures are
made in ``render()``, which Textual calls only for a widget on screen.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widget import Widget

from fmtui.core.config.settings import TrainConfig
from fmtui.core.engine.events import DataLoaded, DataUnavailable, Evaluated, Event, RunStarted
from fmtui.core.engine.metrics import cell_images, most_confused, worst_class
from fmtui.tui.monitor.widgets.explain_map import MapToggle
from fmtui.tui.render.heatmap import overlay, overlay_rgb
from fmtui.tui.render.pictures import caption, picture, sure

THUMB_WIDTH, THUMB_HEIGHT = 14, 8  # a half-size picture (14 x 7) and its caption line
THUMB_GAP = 1


class _Part(Widget):
    """A piece of the view that draws from the view's state when Textual asks it to."""

    def __init__(self, draw: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._draw = draw

    def render(self) -> RenderableType:
        return self._draw(self)


class ExamplesView(MapToggle, Widget, can_focus=True):
    DEFAULT_CSS = """
    ExamplesView { height: 1fr; padding: 0 1; }
    ExamplesView:focus { background-tint: $foreground 0%; }
    ExamplesView #examples-title { height: 1; }
    ExamplesView #examples-body { height: 1fr; }
    ExamplesView #examples-detail { width: 30; height: 100%; }
    ExamplesView #examples-picture { width: 28; height: 14; }
    ExamplesView #examples-caption { height: 2; }
    ExamplesView #examples-thumbs { width: 1fr; height: 100%; }
    """
    BINDINGS = [
        Binding("left", "move(-1)", "Previous", show=False),
        Binding("right", "move(1)", "Next", show=False),
        Binding("up", "move_rows(-1)", "Row up", show=False),
        Binding("down", "move_rows(1)", "Row down", show=False),
        Binding("pageup", "move_pages(-1)", "Page up", show=False),
        Binding("pagedown", "move_pages(1)", "Page down", show=False),
        Binding("home", "move_to(0)", "First", show=False),
        Binding("end", "move_to(-1)", "Last", show=False),
        Binding("escape", "app.view('confusion')", "Matrix", show=False),
        Binding("a", "toggle_map", "Map", show=False),  # the model's map over the picture (MapToggle)
    ]

    # A textual-image widget class when the terminal speaks Kitty or Sixel graphics (set by the
    # launcher, which asks the terminal before Textual starts); None draws with half blocks.
    graphics: ClassVar[type[Widget] | None] = None

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data: DataLoaded | None = None
        self.unavailable: str | None = None  # why the images cannot be shown (a run attached from elsewhere)
        self.evaluation: Evaluated | None = None
        self.chosen: tuple[int, int] | None = None  # picked in the matrix; None follows the worst pair
        self.position = 0
        self._members: tuple[Evaluated, tuple[int, int], np.ndarray] | None = None  # the last cell found

    def compose(self) -> ComposeResult:
        yield _Part(self._draw_title, id="examples-title")
        with Horizontal(id="examples-body"):
            with Vertical(id="examples-detail"):
                if self.graphics is not None:
                    yield self.graphics(id="examples-picture")
                else:
                    yield _Part(self._draw_picture, id="examples-picture")
                yield _Part(self._draw_caption, id="examples-caption")
            yield _Part(self._draw_thumbs, id="examples-thumbs")

    # --- state -----------------------------------------------------------------------------------

    def reset(self, config: TrainConfig) -> None:
        self.data = self.evaluation = self.chosen = self._members = self.unavailable = self.run_dir = None
        self.position = 0
        self._changed()

    def follow(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.run_dir = event.run_dir  # where MapToggle finds the best weights
        elif isinstance(event, DataLoaded):
            self.data, self.unavailable = event, None
            self._changed()
        elif isinstance(event, DataUnavailable):
            self.unavailable = event.reason
            self._changed()
        elif isinstance(event, Evaluated):
            self.evaluation = event  # the newest: validation each epoch, then the test split
            self._changed()

    def show_cell(self, true: int, predicted: int) -> None:
        """Show the images of class ``true`` predicted as ``predicted``, from the first."""
        self.chosen, self.position = (true, predicted), 0
        self._changed()

    def cell(self) -> tuple[int, int] | None:
        """The cell shown: the one picked in the matrix, else the most confused pair (or, with no
        mistakes at all, the worst class's correct images)."""
        e = self.evaluation
        if e is None:
            return None
        if self.chosen is not None:
            return self.chosen
        pairs = most_confused(e.confusion, k=1)
        if pairs:
            return pairs[0][:2]
        worst = worst_class(e.f1) if e.f1 else 0
        return worst, worst

    def members(self) -> np.ndarray:
        """Indices (into the split's images) of the shown cell, in the order they are shown."""
        e, cell, labels = self.evaluation, self.cell(), self._labels()
        if e is None or cell is None or labels is None or len(e.predictions) != len(labels):
            return np.zeros(0, dtype=np.int64)
        if self._members is None or self._members[0] is not e or self._members[1] != cell:
            self._members = e, cell, cell_images(labels, np.asarray(e.predictions), np.asarray(e.confidences), *cell)
        return self._members[2]

    def _labels(self) -> np.ndarray | None:
        if self.data is None or self.evaluation is None:
            return None
        return self.data.test_labels if self.evaluation.split == "test" else self.data.val_labels

    def _images(self) -> np.ndarray | None:
        if self.data is None or self.evaluation is None:
            return None
        return self.data.test_images if self.evaluation.split == "test" else self.data.val_images

    def _changed(self) -> None:
        # Nothing is computed here (the cell's members are found when drawn): an evaluation arrives with
        # every epoch, twice a second for the linear model, and this view is usually hidden.
        if not self.is_mounted:
            return
        for part in self.query(_Part):
            part.refresh()  # cheap: a hidden part is not rendered until it is shown
        if self.graphics is not None and self.is_on_screen:
            self._show_graphics()

    def on_show(self) -> None:
        if self.graphics is not None:
            self._show_graphics()

    def _show_graphics(self) -> None:
        from PIL import Image  # with textual-image only: it depends on Pillow

        index = self._current()
        images = self._images()
        widget = self.query_one("#examples-picture")
        shown = self._map_of(index)
        pixels = overlay_rgb(np.asarray(images[index]), shown[0]) if shown is not None else images[index]
        widget.image = Image.fromarray(np.asarray(pixels)) if index is not None else None

    def _current(self) -> int | None:
        """The selected image's index in its split; the position is kept within the cell, which changes
        size with every evaluation."""
        members = self.members()
        self.position = min(self.position, max(len(members) - 1, 0))
        return int(members[self.position]) if len(members) and self._images() is not None else None

    # --- keys ------------------------------------------------------------------------------------

    def _columns(self) -> int:
        width = self.query_one("#examples-thumbs").size.width
        return max(1, (width + THUMB_GAP) // (THUMB_WIDTH + THUMB_GAP))

    def _page(self) -> int:
        return self._columns() * max(1, self.query_one("#examples-thumbs").size.height // THUMB_HEIGHT)

    def action_move(self, step: int) -> None:
        self.action_move_to(self.position + step, clamp=True)

    def action_move_rows(self, rows: int) -> None:
        self.action_move_to(self.position + rows * self._columns(), clamp=True)

    def action_move_pages(self, pages: int) -> None:
        self.action_move_to(self.position + pages * self._page(), clamp=True)

    def action_move_to(self, position: int, clamp: bool = False) -> None:
        count = len(self.members())
        if not count:
            return
        self.position = min(max(position, 0), count - 1) if clamp or position >= 0 else count + position
        self._changed()

    # --- drawing ---------------------------------------------------------------------------------

    def _draw_title(self, part: Widget) -> Text:
        e, cell = self.evaluation, self.cell()
        if e is None or cell is None:
            # One line at 80 columns: the title row is cut at the screen's edge.
            return Text("The most confused pair's images appear once the first epoch is validated.", style="dim")
        true, predicted = cell
        # Without the images (still loading, or not readable here) the matrix still says how many.
        count = len(self.members()) if self.data is not None else int(e.confusion[true][predicted])
        what = "correct, least sure first" if true == predicted else "mistakes, surest first"
        where = "test set" if e.split == "test" else "validation"
        title = Text.assemble((f"{e.class_names[true]} → {e.class_names[predicted]}", "bold"),
                              f": {count:,} {what} ", (f"({where}, epoch {e.epoch})", "dim"))
        title.truncate(part.size.width, overflow="ellipsis")
        return title

    def _draw_picture(self, part: Widget) -> RenderableType:
        index = self._current()
        if index is None:
            return Text("")
        shown = self._map_of(index)
        return overlay(self._images()[index], shown[0]) if shown is not None else picture(self._images()[index])

    def selection(self) -> tuple[np.ndarray, np.ndarray, int, tuple[int, int]] | None:
        """What this view shows, for the explain view: the split's images and labels, the selected
        image's index and the cell (true, predicted)."""
        index, cell = self._current(), self.cell()
        if index is None or cell is None:
            return None
        return self._images(), self._labels(), index, cell

    def _draw_caption(self, part: Widget) -> Text:
        e, index = self.evaluation, self._current()
        if e is None or index is None:
            if e is not None and self.data is None:
                if self.unavailable is not None:
                    return Text(f"No pictures: {self.unavailable}", style="dim")
                return Text("Reading the images…", style="dim")
            return Text("No images in this cell." if e is not None else "", style="dim")
        labels = self._labels()
        text = caption(int(labels[index]), e.predictions[index], e.confidences[index], e.class_names,
                       width=part.size.width)
        count = len(self.members())
        split = "test" if e.split == "test" else "val"
        if self.show_map:
            text.append("\n")
            text.append(self.map_line(self._map_key(index), e.predictions[index], e.class_names))
            return text
        text.append(f"\n{self.position + 1:,} of {count:,} · {split} #{index:,}", style="dim")
        return text

    def _draw_thumbs(self, part: Widget) -> RenderableType:
        self._current()  # keeps the position within the cell
        members, images, e = self.members(), self._images(), self.evaluation
        if not len(members) or images is None or e is None or part.size.width < THUMB_WIDTH:
            return Text("")
        columns = max(1, (part.size.width + THUMB_GAP) // (THUMB_WIDTH + THUMB_GAP))
        page = columns * max(1, part.size.height // THUMB_HEIGHT)
        start = self.position // page * page
        grid = Table.grid(padding=(0, THUMB_GAP, 0, 0))
        for _ in range(columns):
            grid.add_column(width=THUMB_WIDTH, no_wrap=True)
        cells = []
        for n, index in enumerate(members[start:start + page], start):
            label = Text(f"{sure(e.confidences[index])} #{index}", no_wrap=True, overflow="crop")
            if n == self.position:
                label = Text(f"▶{label.plain}", style="reverse bold", no_wrap=True, overflow="crop")
            cells.append(Group(picture(images[index], half=True), label))
        for row in range(0, len(cells), columns):
            grid.add_row(*cells[row:row + columns])
        return grid
