"""Benchmarks of Smarketing on this machine: `python -m benchmarks <name> [--db sqlite|postgres]`.

Never part of the test suite; results are printed and saved under `benchmarks/results/`
(not committed). BENCHMARKS.md records the figures and how they were taken.
"""
