"""fmtui's engine: FashionMNIST data, models, the training loop and run records.

Nothing in this package knows about terminals; the TUI and the headless CLI subscribe to the
events the trainer emits (see ``core.events``).
"""

__version__ = "0.1.0"
