"""Benchmarks: ``make bench`` (``python -m benchmarks``) prints one table, ours against a baseline."""
