"""The engine: settings and presets, data, models, the training loop and trainer, resume, evaluation."""
