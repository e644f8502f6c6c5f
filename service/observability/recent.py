"""A value reused for a short while, per process: the probes' database answers.

Under load a probe's own database round trips are what make it slow: each
one hands the interpreter lock back to request threads and waits to get it
back. Reusing the answer for a second (PROBE_CACHE_SECONDS) makes a probe
a dictionary read for all but one request a second per worker. Failures
are reused too, so a hung database is not asked again by every probe.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Recent(Generic[T]):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._value: T | None = None
        self._expires = 0.0

    def get(self, seconds: float, compute: Callable[[], T]) -> T:
        """The value computed less than `seconds` ago, else a fresh one (0: always fresh)."""
        if seconds <= 0:
            return compute()
        value = self._value
        if value is not None and time.monotonic() < self._expires:
            return value
        with self._lock:  # one thread refreshes; the others wait for its answer
            if self._value is not None and time.monotonic() < self._expires:
                return self._value
            value = compute()
            self._value, self._expires = value, time.monotonic() + seconds
            return value
