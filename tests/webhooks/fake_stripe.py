"""A local HTTP server standing in for Stripe's API, in Stripe's wire format.

It answers `GET /v1/customers/{id}` like api.stripe.com does: the customer
object as JSON, or an error envelope `{"error": {"type", "code", "message"}}`
with Stripe's status codes (401 bad key, 404 resource_missing, 500
api_error). `mode` switches it between up, down (500s) and hanging.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeStripe:
    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self.customers: dict[str, dict[str, Any]] = {}
        self.mode = "up"  # up | down | hang
        self.hang_seconds = 3.0
        self.answer_unknown = False  # any id is a customer (property tests)
        self.requests: list[tuple[str, str]] = []  # (method, path)
        self._server: ThreadingHTTPServer | None = None

    @property
    def base(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def hits(self, path_prefix: str = "/v1/customers/") -> int:
        return sum(1 for _, path in self.requests if path.startswith(path_prefix))

    def add_customer(self, customer_id: str, email: str | None, name: str | None = None) -> None:
        self.customers[customer_id] = {
            "id": customer_id,
            "object": "customer",
            "balance": 0,
            "created": int(time.time()) - 86400,
            "currency": "usd",
            "delinquent": False,
            "email": email,
            "livemode": False,
            "metadata": {},
            "name": name,
        }

    def start(self) -> FakeStripe:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:
                fake.requests.append(("GET", self.path))
                status, payload = fake.answer(self.path, self.headers.get("Authorization", ""))
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Request-Id", f"req_{uuid.uuid4().hex[:14]}")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout): as with the real API

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        server.block_on_close = False
        self._server = server
        threading.Thread(
            target=server.serve_forever, args=(0.05,), name="fake-stripe", daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @staticmethod
    def _error(status: int, kind: str, message: str, code: str | None = None) -> tuple[int, dict]:
        error: dict[str, Any] = {"type": kind, "message": message}
        if code:
            error.update(code=code, doc_url=f"https://stripe.com/docs/error-codes/{code}")
        return status, {"error": error}

    def answer(self, path: str, authorization: str) -> tuple[int, dict]:
        if self.mode == "hang":
            time.sleep(self.hang_seconds)
        if self.mode != "up":
            return self._error(500, "api_error", "An unknown error occurred")
        if authorization != f"Bearer {self.api_key}":
            return self._error(401, "invalid_request_error", "Invalid API Key provided: sk_****")
        prefix = "/v1/customers/"
        if not path.startswith(prefix):
            return self._error(
                404, "invalid_request_error", f"Unrecognized request URL (GET: {path})."
            )
        customer_id = path[len(prefix) :].split("?")[0]
        if customer_id not in self.customers and self.answer_unknown:
            self.add_customer(customer_id, f"{customer_id}@example.com", "Fetched Name")
        if customer_id not in self.customers:
            return self._error(
                404,
                "invalid_request_error",
                f"No such customer: '{customer_id}'",
                code="resource_missing",
            )
        return 200, self.customers[customer_id]
