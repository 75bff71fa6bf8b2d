"""The presets fmtui ships: one TOML file each, read with importlib.resources (``fmtui.core.config.presets``)."""
