"""The Textual monitor: the app, its views table, widgets, screens, and how it is launched."""
