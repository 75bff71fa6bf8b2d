"""The presets fmtui ships: one TOML file each, read with importlib.resources (``fmtui.core.config.presets``)."""

# The order the menu and `fmtui presets` list them in: the article's pair first (the linear baseline, then
# the CNN that beats it), the CNN sized for a small CPU's minutes, then the article's next steps. A preset
# file not named here follows, by name.
ORDER = ("linear", "tinyvgg", "fast", "tinyvgg-wide", "resnet", "resnet-wide", "transfer", "transfer-scratch")
