"""fmtui's engine: FashionMNIST data, models, training, run records, live runs and sweeps.

One subpackage per concern; arrows point down only (``live`` and ``sweep`` use ``engine``, which uses
``models``, ``data`` and ``records``; ``config`` and ``errors`` are used by all). Nothing here imports
Textual or ``fmtui.tui``: the monitor and the headless CLI subscribe to the events the trainer emits
(``fmtui.core.engine.events``).
"""
