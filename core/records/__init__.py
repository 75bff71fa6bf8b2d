"""Run records: the run directory, its summary and a run's status, its files written atomically, its
lock, listing, and checkpoints."""
