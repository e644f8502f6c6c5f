"""`python -m bench.instructions`: instructions per webhook request, service vs baseline.

Counts what a shared, loaded machine cannot move: valgrind's callgrind
around the WSGI apps in this one process (Gunicorn left out), on a scratch
PostgreSQL database migrated by the Procfile's `release` step. Each app
takes a warm-up, then `--events` distinct signed `invoice.paid` deliveries
with collection switched on (`callgrind_control -i on`) for that loop only:
the minimal baseline (bench/apps/minimal_webhook.py) first, then the
service as deployed (`wsgi:app`, production settings, JSON logs to
/dev/null). docs/profiles/README.md lists the figures behind each change.
Needs valgrind (apt); the re-run under valgrind takes a minute or two.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import pg, server
from .apps import minimal_webhook
from .events import SECRET, deliveries

_CHILD = "BENCH_INSTRUCTIONS_CHILD"


def _environs(count: int) -> list[dict[str, Any]]:
    from werkzeug.test import EnvironBuilder

    out = []
    for d in deliveries(count):
        headers = {"Stripe-Signature": d.signature, "Content-Type": "application/json"}
        builder = EnvironBuilder("/v1/webhooks/stripe", method="POST", data=d.body, headers=headers)
        out.append(builder.get_environ())
    return out


def _drive(app: Callable[..., Any], environs: list[dict[str, Any]]) -> None:
    answered: list[str] = []

    def start_response(status: str, headers: Any, exc_info: Any = None) -> None:
        answered.append(status)

    for environ in environs:
        body = app(environ, start_response)
        b"".join(body)
        getattr(body, "close", lambda: None)()
    refused = [status for status in answered if not status.startswith("200")]
    if refused:
        raise RuntimeError(f"answered {refused[:3]}")


def _callgrind(*args: str) -> None:
    subprocess.run(["callgrind_control", *args, str(os.getpid())], check=True, capture_output=True)


def _child(events: int) -> None:
    """Under valgrind: drive both apps, one dump per app."""
    with pg.scratch_database() as url:
        server.migrate(url)
        minimal_webhook.create_schema(url)
        os.environ.update(server.base_env(url))
        minimal_webhook._SECRET = SECRET  # read at its import, before the environment was set
        import wsgi  # after the environment: the factory reads it

        sys.excepthook = sys.__excepthook__  # a failure shows on stderr, not in /dev/null
        for handler in logging.getLogger().handlers:
            handler.setStream(open(os.devnull, "w"))  # noqa: SIM115  (for the process's life)
        for name, app in (("baseline", minimal_webhook.app), ("service", wsgi.app)):
            _drive(app, _environs(20))
            environs = _environs(events)
            _callgrind("-z")
            _callgrind("-i", "on")
            _drive(app, environs)
            _callgrind("-i", "off")
            _callgrind("-d", name)


def _total(dump: Path) -> int:
    for line in dump.read_text().splitlines():
        if line.startswith("totals:"):
            return int(line.split()[1])
    raise RuntimeError(f"no totals in {dump}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__)
    parser.add_argument("--events", type=int, default=60)
    args = parser.parse_args(argv)
    if os.environ.get(_CHILD):
        _child(args.events)
        return 0
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        sys.exit("valgrind is needed (apt-get install valgrind)")
    with tempfile.TemporaryDirectory(prefix="instructions-") as tmp:
        out = Path(tmp) / "callgrind.out"
        command = [valgrind, "--tool=callgrind", "--instr-atstart=no"]
        command += [f"--callgrind-out-file={out}", sys.executable, "-m", "bench.instructions"]
        command += ["--events", str(args.events)]
        env = {**os.environ, _CHILD: "1"}
        done = subprocess.run(command, cwd=server.ROOT, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"the run under valgrind failed:\n{done.stderr[-3000:]}")
        baseline, service = (_total(Path(f"{out}.{n}")) / args.events for n in (1, 2))
    print(
        f"instructions per request: baseline {baseline / 1e6:.2f} M, "
        f"service {service / 1e6:.2f} M, ratio {service / baseline:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
