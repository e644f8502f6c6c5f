"""Prints the agent's Prometheus configuration (JSON, which is YAML) for this dyno.

Used by deploy/agent/with-agent. The agent scrapes this instance on loopback
and forwards to the central Prometheus:

- every series of the database-backed families (the same on every instance:
  dashboards and alerts take `max` across instances for them), and
- of the HTTP families, only this dyno's series: every instance reports every
  dyno's HTTP metrics (docs/ARCHITECTURE.md, "Metrics across a fleet"), so
  forwarding them all from every agent would count each request once per dyno.
"""

from __future__ import annotations

import json
import os
import re
import sys


def config(env: dict[str, str]) -> dict:
    home, dyno = env["AGENT_HOME"], env["DYNO"]
    interval = env.get("AGENT_SCRAPE_INTERVAL", "15s")
    return {
        "global": {"scrape_interval": interval, "scrape_timeout": interval},
        "scrape_configs": [
            {
                "job_name": "billing-notifier",
                "honor_labels": True,
                "metrics_path": "/metrics",
                "authorization": {"credentials_file": f"{home}/metrics-token"},
                "static_configs": [
                    {
                        "targets": [f"127.0.0.1:{env.get('PORT', '8000')}"],
                        "labels": {"instance": dyno},
                    }
                ],
                "metric_relabel_configs": [
                    {
                        # No dyno label (database-backed families) or this dyno's.
                        "source_labels": ["dyno"],
                        "regex": f"|{re.escape(dyno)}",
                        "action": "keep",
                    }
                ],
            }
        ],
        "remote_write": [
            {
                "url": env["REMOTE_WRITE_URL"],
                "authorization": {"credentials_file": f"{home}/remote-write-token"},
            }
        ],
    }


if __name__ == "__main__":
    json.dump(config(dict(os.environ)), sys.stdout, indent=2)
    sys.stdout.write("\n")
