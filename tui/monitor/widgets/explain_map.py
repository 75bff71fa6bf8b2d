"""The model's map over the examples view's large picture, toggled with a key: integrated gradients
toward the class the model said, for every model alike, so that two runs' views of one image compare
(Grad-CAM, for CNNs only, is in the Explain view beside it).

The map is computed from the run's best.pt so far (a live run's latest best epoch) in a thread worker,
one at a time (a newer request cancels the older), and posted back; the picture stays as it was until
the map arrives. Maps are kept per image, run and epoch, so moving back and forth draws at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from rich.text import Text
from textual.message import Message
from textual.worker import get_current_worker

from fmtui.core.errors import FmtuiError
from fmtui.tui.render.pictures import short

if TYPE_CHECKING:
    from fmtui.core.explain.loading import LatestModel

_models: LatestModel | None = None


def models() -> LatestModel:
    """The one cache of best models in this process: the examples and explain views read the same best.pt.
    Made on first use, from a worker: it imports torch, which the monitor's first screen does without."""
    global _models
    if _models is None:
        from fmtui.core.explain.loading import LatestModel

        _models = LatestModel()
    return _models


class MapReady(Message):
    """A map (or why there is none) for the image ``key`` names, from the worker."""

    def __init__(self, key: tuple, values: np.ndarray | None, method: str, problem: str = "") -> None:
        super().__init__()
        self.key, self.values, self.method, self.problem = key, values, method, problem


class MapToggle:
    """For the examples view: ``a`` lays the map over the picture or takes it away. The view gives
    ``run_dir`` (from RunStarted) and calls ``map_for`` where it draws the picture."""

    run_dir: str | None = None
    show_map = False
    _maps: dict[tuple, tuple[np.ndarray, str]]
    _map_problem: tuple[tuple, str] | None = None
    _asked: tuple | None = None

    def _map_key(self, index: int) -> tuple:
        return self.evaluation.split, self.evaluation.epoch, index  # type: ignore[attr-defined]

    def _map_of(self, index: int | None) -> tuple[np.ndarray, str] | None:
        """The map over the view's image ``index`` toward the class the model said, once computed."""
        evaluation = getattr(self, "evaluation", None)
        if index is None or evaluation is None:
            return None
        return self.map_for(self._map_key(index), self._images()[index],  # type: ignore[attr-defined]
                            int(evaluation.predictions[index]))

    def action_toggle_map(self) -> None:
        self.show_map = not self.show_map
        self._changed()  # type: ignore[attr-defined]

    def map_for(self, key: tuple, image: np.ndarray, target: int) -> tuple[np.ndarray, str] | None:
        """The map of ``image`` toward ``target`` when shown and ready; asks for it when not computed yet."""
        if not self.show_map or self.run_dir is None:
            return None
        maps = self.__dict__.setdefault("_maps", {})
        key = (self.run_dir, *key)
        if key in maps:
            return maps[key]
        if self._asked != key and (self._map_problem is None or self._map_problem[0] != key):
            self._asked = key
            self.run_worker(lambda: self._compute(key, np.array(image), target), thread=True,  # type: ignore[attr-defined]
                            exclusive=True, group="examples-map", name="fmtui-map")
        return None

    def map_line(self, key: tuple, target: int, class_names: Any) -> Text:
        """What the caption says about the map: its method and class, that it is coming, or why not."""
        key = (self.run_dir, *key)
        if self._map_problem is not None and self._map_problem[0] == key:
            return Text(self._map_problem[1], style="red1")
        held = self.__dict__.get("_maps", {}).get(key)
        if held is None:
            return Text("computing the map…", style="dim")
        from fmtui.core.explain.attributions import METHODS

        return Text(f"{METHODS[held[1]].short} → {short(class_names[target])} · a hides", style="dim")

    def _compute(self, key: tuple, image: np.ndarray, target: int) -> None:
        from fmtui.core.explain.attributions import attribute

        worker = get_current_worker()
        try:
            loaded = models().get(key[0])
            method = "ig"
            values = attribute(loaded, image[None], [target], method)[0]
        except FmtuiError as exc:
            message = MapReady(key, None, "", str(exc))
        else:
            message = MapReady(key, values, method)
        if not worker.is_cancelled:
            self.post_message(message)  # type: ignore[attr-defined]

    def on_map_ready(self, message: MapReady) -> None:
        if message.values is None:
            self._map_problem = (message.key, message.problem)
        else:
            maps = self.__dict__.setdefault("_maps", {})
            if len(maps) > 256:  # a few hundred maps of 28x28 floats: under a megabyte
                maps.clear()
            maps[message.key] = (message.values, message.method)
        self._asked = None
        self._changed()  # type: ignore[attr-defined]
