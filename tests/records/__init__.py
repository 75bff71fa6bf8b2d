"""Run records: what is written, what is read back, and what a damaged record does."""
