"""Measurements of the pipeline (run as modules, e.g. `python -m benchmarks.etl`); not part of the test suite."""
