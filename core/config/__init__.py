"""Settings: ``TrainConfig`` with a reason beside each field, its overrides, and the preset files."""
