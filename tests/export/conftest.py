"""The export tests use the predict tests' tiny trained run."""

from tests.predict.conftest import pattern_data, pattern_run  # noqa: F401  (fixtures)
