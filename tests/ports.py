"""Ports for servers a test starts in another process, chosen where the kernel never picks ports of its own.

A port found free by binding port 0 is an ephemeral one: until the server binds it, any outgoing connection made
meanwhile (to the simulators, to PostgreSQL) may be given that very port, and the server then fails to start.
The kernel hands out ports only from its ephemeral range, so one below it stays free until a test takes it.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

_PORT_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def _ephemeral_start() -> int:
    try:
        return int(_PORT_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def free_port() -> int:
    """A port on 127.0.0.1, free now, below the kernel's ephemeral range."""
    top = _ephemeral_start()
    for _ in range(200):
        port = random.randrange(max(1024, top - 12_000), top)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError(f"no free port on 127.0.0.1 below {top} after 200 tries")
