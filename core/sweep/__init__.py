"""Sweeps: the search space, the Optuna storage, the runner of trials, and the leaderboard."""
