"""The preset menu: pick a preset, adjust epochs and learning rate, start. Its result is the config.

The fields show the preset's own values, or those a person last started that preset with in this
monitor (a 2-epoch try is not followed by a 15-epoch one on the next Enter)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from fmtui.core.config.presets import PresetInfo
from fmtui.core.config.settings import TrainConfig, with_overrides
from fmtui.core.errors import ConfigError
from fmtui.tui.render import format as fmt

FIELD_NAMES = {"epochs": "epochs", "lr": "learning rate"}
TOO_MANY = 10**12  # stands in for an epochs value with more digits than Python reads


def configure(info: PresetInfo, epochs: str, lr: str) -> TrainConfig:
    """The preset's config with the edited epochs and learning rate; ConfigError names a bad field."""
    if info.config is None:
        raise ConfigError(info.problem)
    values = {}
    for name, text, read, kind in (("epochs", epochs, int, "a whole number"),
                                   ("lr", lr, float, "a number such as 0.003 or 3e-3")):
        try:
            values[name] = read(text.strip())
        except ValueError:
            if name == "epochs" and text.strip().isdigit():  # thousands of digits: too long for Python's int()
                values[name] = TOO_MANY  # out of range as the number typed is; the range check says so
                continue
            raise ConfigError(f"{FIELD_NAMES[name]}: expected {kind}.") from None
    try:
        return with_overrides(info.config, values, label=FIELD_NAMES.__getitem__)
    except ConfigError as exc:
        digits = len(epochs.strip())
        raise ConfigError(str(exc).replace(str(TOO_MANY), f"a {digits:,}-digit number")) from None


class PresetMenu(ModalScreen[TrainConfig | None]):
    DEFAULT_CSS = """
    PresetMenu { align: center middle; }
    PresetMenu > Vertical { width: 78; max-width: 100%; height: auto; max-height: 100%;
                            border: thick $primary; background: $surface; padding: 0 1; }
    PresetMenu OptionList { height: auto; max-height: 12; margin-bottom: 1; }
    PresetMenu Horizontal { height: 1; }
    PresetMenu Horizontal Label { padding: 0 1 0 0; }
    PresetMenu Input { width: 14; margin-right: 3; }
    PresetMenu #problem, PresetMenu #notice { color: $error; height: auto; }
    PresetMenu #notice { margin-bottom: 1; }
    PresetMenu .hint { color: $text-muted; }
    """

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, presets: list[PresetInfo], highlight: str | None = None, notice: str = "",
                 last: dict[str, TrainConfig] | None = None) -> None:
        super().__init__()
        self.presets = presets
        self.last = last or {}  # by preset name: the config it was last started with here
        self.notice = notice  # why the command line's preset did not start; the dialog would hide the panel
        self.highlight = next((i for i, p in enumerate(presets) if p.name == highlight), 0)

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Start a run"
            if self.notice:
                yield Static(Text(f"Cannot start: {self.notice}"), id="notice")
            yield OptionList(*[Option(fmt.preset_text(p), id=p.name, disabled=p.config is None) for p in self.presets])
            with Horizontal():
                yield Label("epochs")
                yield Input(id="epochs", type="integer", compact=True)
                yield Label("learning rate")
                yield Input(id="lr", compact=True)
            yield Static(id="problem")
            yield Label("↑↓ preset  Tab epochs/lr  Enter start  Esc cancel", classes="hint")
        yield Footer()  # the dialog's own keys; the monitor's footer lies beneath it

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        if self.presets:
            options.highlighted = self.highlight
        else:
            self._problem("No preset files found; add a .toml file to the presets folder.")
        options.focus()

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        info = self.presets[event.option_index]
        config = self.last.get(info.name, info.config) if info.config is not None else None
        if config is not None:
            self.query_one("#epochs", Input).value = str(config.epochs)
            self.query_one("#lr", Input).value = f"{config.lr:g}"
        self._problem("")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self._submit()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self._submit()

    def _submit(self) -> None:
        index = self.query_one(OptionList).highlighted
        if index is None:
            return
        try:
            config = configure(self.presets[index], self.query_one("#epochs", Input).value,
                               self.query_one("#lr", Input).value)
        except ConfigError as exc:
            self._problem(str(exc))
            return
        self.dismiss(config)

    def _problem(self, message: str) -> None:
        self.query_one("#problem", Static).update(Text(message))
