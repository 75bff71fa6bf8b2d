"""Dialogs over the monitor: the preset menu, a yes/no question, the key help."""
