"""The floor for `GET /healthz`: Flask and nothing else (bench row 4).

Served with bench/apps/gunicorn_bare.py: the service's worker settings,
no access log.
"""

from flask import Flask, Response, jsonify

app = Flask(__name__)


@app.get("/healthz")
def healthz() -> Response:
    return jsonify({"status": "ok"})
