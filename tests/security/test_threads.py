"""gthread runs WEB_THREADS requests of one process side by side: shared
per-process state must allow that."""

from __future__ import annotations

import threading
import time

from service.db import run_bounded


def test_concurrent_bounded_calls_of_busy_threads_all_succeed(make_app):
    app = make_app(WEB_THREADS="4")
    results: list[object] = []
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def request_thread() -> None:
        start.wait()
        try:
            # Two bounded calls per request at once, as /readyz plus a scrape may make.
            results.append(run_bounded(lambda: time.sleep(0.3) or "ok", 5, app))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=request_thread) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert not errors, errors
    assert results == ["ok"] * 8
