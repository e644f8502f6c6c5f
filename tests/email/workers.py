"""What a dispatching worker process does, for tests that start several.

Kept free of pytest imports: `multiprocessing` (spawn) imports this module
in each child.
"""

from __future__ import annotations

from typing import Any


def dispatch_until_empty(config: dict[str, str], batch_size: int, barrier: Any, out: Any) -> None:
    """Build the app like a worker would, wait for the others, then drain the queue."""
    from service import create_app
    from service.email import dispatch

    dispatch.BATCH_SIZE = batch_size  # small batches: the workers interleave
    app = create_app(config)
    delivered = 0
    with app.app_context():
        barrier.wait(30)
        idle_runs = 0
        while idle_runs < 2:
            tally = dispatch.dispatch_queued()
            delivered += tally.get("delivered", 0)
            idle_runs = 0 if tally.get("delivered") else idle_runs + 1
    out.put(delivered)
