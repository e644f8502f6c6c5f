"""Process identities: who holds a lease, who claimed a message."""

from __future__ import annotations

import os
import socket
import uuid


def new_instance_id() -> str:
    """`host:pid:random`: unique per call, readable in the admin API and logs
    (which worker holds the leader lease, which one claimed a message)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
