"""Benchmarks for the web tier: `make bench` (python -m bench).

Results go to docs/PERFORMANCE.md. Every number is a ratio against a baseline
measured in the same run, rounds interleaved, because the machine is small
and shared: absolute timings are noise, ratios of medians are not.
"""
