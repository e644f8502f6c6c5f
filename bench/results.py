"""What a benchmark hands to the report: table rows and the raw rounds behind them."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Row:
    benchmark: str
    measure: str
    baseline: str
    candidate: str
    ratio: float | None
    target: str
    passed: bool | None  # None: reported, no target

    @property
    def verdict(self) -> str:
        return {True: "PASS", False: "FAIL", None: "info"}[self.passed]


@dataclass
class Outcome:
    rows: list[Row] = field(default_factory=list)
    details: list[str] = field(default_factory=list)  # markdown lines: raw rounds, counts
