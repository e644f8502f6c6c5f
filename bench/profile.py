"""`python -m bench.profile`: a flame graph of the webhook request under load.

One service worker (the Procfile web line on a scratch PostgreSQL database)
receives distinct signed `invoice.paid` deliveries from wrk while py-spy
samples it; the SVG goes to docs/profiles/. py-spy comes from PyPI (the
`test` extra); sampling another process needs root or ptrace rights.
A second output, `--format raw`, gives the collapsed stacks for counting.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from . import loadgen, pg, server
from .apps import minimal_webhook


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--out", default=str(server.ROOT / "docs" / "profiles" / "webhook.svg"))
    parser.add_argument("--seconds", type=int, default=12)
    parser.add_argument(
        "--format", choices=("flamegraph", "raw", "speedscope"), default="flamegraph"
    )
    parser.add_argument("--app", default="wsgi:app")
    parser.add_argument("--gil", action="store_true", help="only samples holding the GIL (CPU)")
    args = parser.parse_args(argv)
    spy = shutil.which("py-spy")
    wrk = loadgen.ensure_wrk()
    if spy is None or wrk is None:
        sys.exit("py-spy (pip) and wrk (apt) are needed")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="profile-") as tmp, pg.scratch_database() as url:
        server.migrate(url)
        minimal_webhook.create_schema(url)
        ctx = server.RunContext(Path(tmp), url, wrk, quick=False)
        config = None if args.app == "wsgi:app" else server.BARE_CONFIG
        with server.serving("profile", args.app, ctx, 1, config=config) as web:
            loadgen.post_deliveries(web.base, 30)
            pid = web.worker_pids()[0]
            record = [spy, "record", "--pid", str(pid), "--duration", str(args.seconds)]
            record += ["--gil"] if args.gil else []
            record += ["--rate", "250", "--format", args.format, "--output", str(out)]
            sampler = threading.Thread(target=subprocess.run, args=(record,), daemon=True)
            sampler.start()
            loadgen.webhook_round(wrk, [web.base], args.seconds + 1, 4, Path(tmp) / "load")
            sampler.join(timeout=args.seconds + 30)
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
