"""Tests of the explanations: maps checked where the answer is known, templates and filters against the
weights, PNG files read back, the command's output and its bad input."""
