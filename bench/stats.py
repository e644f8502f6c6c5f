"""The small amount of arithmetic the benchmarks share: medians and ratios."""

from __future__ import annotations

import statistics
from collections.abc import Sequence


def median(values: Sequence[float]) -> float:
    if not values:
        raise ValueError("median of no values")
    return statistics.median(values)


def ratio(candidate: float, baseline: float) -> float:
    if baseline == 0:
        raise ZeroDivisionError("baseline is 0: nothing to compare against")
    return candidate / baseline


def pair_ratios(candidate: Sequence[float], baseline: Sequence[float]) -> list[float]:
    """candidate[i] / baseline[i] for interleaved rounds (each pair ran back to back)."""
    if len(candidate) != len(baseline):
        raise ValueError("rounds must come in pairs")
    return [ratio(c, b) for c, b in zip(candidate, baseline, strict=True)]


def spread(values: Sequence[float]) -> tuple[float, float]:
    """(lower, upper) quartile: how far the rounds disagree with each other."""
    if len(values) < 2:
        return (values[0], values[0]) if values else (0.0, 0.0)
    q = statistics.quantiles(values, n=4, method="inclusive")
    return q[0], q[2]


def rotation(names: list[str], i: int) -> list[str]:
    """Round i's order: A B C, then B C A, then C A B, ... so no one always goes first."""
    shift = i % len(names)
    return names[shift:] + names[:shift]
