"""Entry point of the `worker` process (see Procfile)."""

import sys

from jobs.main import main

if __name__ == "__main__":
    sys.exit(main())
