"""`python -m bench.smtp_sink PORT`: an SMTP server on 127.0.0.1 that accepts
every message and keeps nothing (aiosmtpd, from the `test` extra).

Run as a process of its own so its event loop neither shares the bench's
interpreter lock nor sits in the processes the bench forks.
"""

from __future__ import annotations

import signal
import sys
import threading

from aiosmtpd.controller import Controller


class Accept:
    async def handle_DATA(self, server, session, envelope) -> str:
        return "250 2.0.0 accepted"


def main(port: int) -> None:
    controller = Controller(Accept(), hostname="127.0.0.1", port=port)
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print("ready", flush=True)
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]))
