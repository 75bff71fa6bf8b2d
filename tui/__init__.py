"""fmtui's faces: the Textual monitor and the Typer CLI, both subscribers to core's events."""
