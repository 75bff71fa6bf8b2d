"""The Textual monitor: the app and its parts, its tables of views and keys, widgets, screens, and how it
is launched and how its process ends."""
