"""`python -m bench.statements DATABASE_URL`: SQL statements and commits per event.

Delivers distinct signed `invoice.paid` events to the app in this process
(Flask's test client; the same code path as under Gunicorn) and counts what
reaches the database driver, by the first word of each statement, plus
transactions begun and committed. Prints one JSON object; bench row 1 puts
it beside the baseline's three statements in one transaction.
"""

from __future__ import annotations

import json
import sys
from collections import Counter

EVENTS = 20


def count(database_url: str, events: int = EVENTS) -> dict[str, float]:
    from sqlalchemy import event

    from service import create_app
    from service.extensions import db

    from .events import SECRET, deliveries

    app = create_app(
        {
            "APP_ENV": "test",
            "DATABASE_URL": database_url,
            "STRIPE_WEBHOOK_SECRET": SECRET,
            "LOG_LEVEL": "WARNING",
        }
    )
    seen: Counter = Counter()

    def on_execute(conn, cursor, statement, parameters, context, executemany) -> None:
        seen[statement.split(None, 1)[0].upper()] += 1

    with app.app_context():
        engine = db.engine
        event.listen(engine, "before_cursor_execute", on_execute)
        event.listen(engine, "begin", lambda conn: seen.update(["BEGIN"]))
        event.listen(engine, "commit", lambda conn: seen.update(["COMMIT"]))
        event.listen(engine, "rollback", lambda conn: seen.update(["ROLLBACK"]))
    client = app.test_client()
    client.post("/v1/webhooks/stripe")  # first request: lazy set-up, not counted
    seen.clear()
    for d in deliveries(events):
        headers = {"Stripe-Signature": d.signature, "Content-Type": "application/json"}
        response = client.post("/v1/webhooks/stripe", data=d.body, headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"{response.status_code}: {response.get_data(as_text=True)}")
    return {name: n / events for name, n in sorted(seen.items())}


if __name__ == "__main__":
    print(json.dumps(count(sys.argv[1])))
