"""Training: the loop, the session a run trains with, the trainer's parts (each with its own state), the
threaded trainer and its requests, its record, evaluation, metrics, resume, the events."""
