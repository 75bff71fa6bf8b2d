"""Sweeps: the search space, storages, workers in several processes, the leaderboard."""
