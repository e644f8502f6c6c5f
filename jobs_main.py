"""Entry point of the `worker` process (see Procfile)."""

import os
import sys

# The worker serves no port: what it knows reaches Prometheus through the
# database. Dropping the variable before prometheus_client is imported keeps
# it from writing per-process files into a web tier's multiprocess directory
# (or failing where that directory does not exist).
os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)

from jobs.main import main

if __name__ == "__main__":
    sys.exit(main())
