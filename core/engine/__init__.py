"""Training: the loop, the threaded trainer and its requests, evaluation, metrics, resume, the events."""
