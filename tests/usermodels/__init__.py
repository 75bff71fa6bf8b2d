"""Models defined outside fmtui, named by a preset or --model."""
