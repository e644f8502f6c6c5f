"""What domains hand to observability: one explicit registry per app.

Observability sits below the domains and imports none of them. A domain's
`init_app` registers here what it contributes:

- `add_provider(app, fn, fallback=None)`: metric families read from the
  database at scrape time (`fn()` returns them), see collector.py; `fallback()`
  stands in when the database cannot be read;
- `add_primer(app, fn)`: creates a domain's per-process label values at 0
  when /metrics is served (only the web tier writes multiprocess files);
- `add_readiness(app, key, fn, unavailable)`: a part of /readyz; `fn()`
  returns a dict with an `ok` key, shown under `key`, and `unavailable` is
  shown instead when the database could not be read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from prometheus_client.core import Metric

Provider = Callable[[], Iterable[Metric]]
Primer = Callable[[], None]
ReadinessReader = Callable[[], dict[str, Any]]
_KEY = "observability_registry"


@dataclass
class Readiness:
    key: str
    read: ReadinessReader
    unavailable: dict[str, Any]


@dataclass
class Registry:
    providers: list[Provider] = field(default_factory=list)
    fallbacks: list[Provider] = field(default_factory=list)
    primers: list[Primer] = field(default_factory=list)
    readiness: list[Readiness] = field(default_factory=list)


def registry(app: Flask) -> Registry:
    found = app.extensions.get(_KEY)
    if found is None:
        found = app.extensions[_KEY] = Registry()
    return found


def add_provider(app: Flask, provider: Provider, fallback: Provider | None = None) -> None:
    """`fallback` (no database) is reported instead when the database cannot be
    read, for families that must not vanish then (the HTTP metrics)."""
    registry(app).providers.append(provider)
    if fallback is not None:
        registry(app).fallbacks.append(fallback)


def add_primer(app: Flask, primer: Primer) -> None:
    registry(app).primers.append(primer)


def add_readiness(app: Flask, key: str, read: ReadinessReader, unavailable: dict[str, Any]) -> None:
    registry(app).readiness.append(Readiness(key, read, unavailable))
