"""The presets fmtui ships: one TOML file each, read with importlib.resources (``fmtui.core.config.presets``)."""

# The order the menu and `fmtui presets` list them in: the article's pair first (the linear baseline, then
# the CNN that beats it), the CNNs sized for a small CPU's minutes (93%, then 94%), then the article's next
# steps. A preset file not named here follows, by name.
ORDER = ("linear", "tinyvgg", "fast", "fast-94", "tinyvgg-wide", "resnet", "resnet-wide", "transfer",
         "transfer-scratch")
