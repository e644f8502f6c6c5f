"""`python -m bench.profile_email`: a flame graph of the email dispatch loop.

One real worker process (the Procfile's `worker` line, production settings,
default EMAIL_CONCURRENCY) sends a backlog of receipts to an aiosmtpd sink
on loopback, on a fresh PostgreSQL database (bench row 2's set-up), while
py-spy samples it; the SVG goes to docs/profiles/. `--format raw` gives the
collapsed stacks for counting, `--gil` only the samples holding the GIL.
py-spy needs root or ptrace rights to sample another process.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from . import email_dispatch as bench
from .server import ROOT, base_env, procfile_argv


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100.0  # USER_HZ


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_email", description=__doc__)
    parser.add_argument("--out", default=str(ROOT / "docs" / "profiles" / "email-dispatch.svg"))
    parser.add_argument("--messages", type=int, default=4000)
    parser.add_argument(
        "--format", choices=("flamegraph", "raw", "speedscope"), default="flamegraph"
    )
    parser.add_argument("--gil", action="store_true", help="only samples holding the GIL (CPU)")
    args = parser.parse_args(argv)
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(prefix="profile-email-") as tmp,
        bench.database(Path(tmp)) as url,
    ):
        sink = bench.Sink(Path(tmp), 0.0)
        app = bench._app(url)
        env = base_env(
            url,
            SMTP_URL=f"smtp://127.0.0.1:{sink.port}?timeout=10",
            EMAIL_DISPATCH_INTERVAL_SECONDS="0.2",
            **bench.TOKENS,
        )
        with open(Path(tmp) / "worker.log", "ab") as log:
            worker = subprocess.Popen(
                procfile_argv("worker"), cwd=ROOT, env=env, stdout=log, stderr=log
            )
            try:
                bench._wait(lambda: bench._dispatch_runners(app) >= 1, 60, "the worker")
                record = [spy, "record", "--pid", str(worker.pid), "--rate", "200", "--nonblocking"]
                record += ["--gil"] if args.gil else []
                record += ["--format", args.format, "--output", str(out)]
                sampler = subprocess.Popen(record, stdout=subprocess.DEVNULL)
                time.sleep(1.0)  # py-spy attached
                cpu = _cpu_seconds(worker.pid)
                bench._enqueue(app, args.messages, uuid.uuid4().hex[:6])
                bench._wait(lambda: len(sink.arrivals()) >= args.messages, 300, "the sink")
                cpu = _cpu_seconds(worker.pid) - cpu
                rate = bench.rate(sink.arrivals())
                sampler.send_signal(signal.SIGINT)
                sampler.wait(60)
            finally:
                worker.send_signal(signal.SIGTERM)
                worker.wait(30)
                sink.stop()
                with app.app_context():
                    from service.extensions import db

                    db.engine.dispose()
    per_message = cpu / args.messages * 1e6
    print(f"{args.messages} messages, {rate:.0f} msg/s at the sink (sampled),")
    print(f"worker CPU {per_message:.0f} us per message; written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
