"""Run records: the run directory, its files written atomically, its lock, listing, and checkpoints."""
