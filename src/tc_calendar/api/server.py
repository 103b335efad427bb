"""Running the app under uvicorn: on ``wsPort`` in the service, on 127.0.0.1 port 0 in tests and benchmarks.

We bind the listening socket ourselves so that port 0 works and the chosen port is known before the first
client connects. WebSocket settings: the sans-I/O websockets implementation (it applies back-pressure, which
the slow-client rule relies on), no per-message compression (bounded memory and CPU per frame), and a hard
frame cap above which the WebSocket layer itself closes with 1009.

While it serves, the interpreter hands the GIL between threads every :data:`SWITCH_INTERVAL` (0.5 ms) instead of
Python's 5 ms. The event loop that pushes changes gives the GIL up at every socket write; when the sync's
threads (exchangelib parsing answers) hold it, the loop waits a whole interval to get it back, so 1,000 writes
for one change could wait seconds. A shorter interval bounds that wait; the sync threads pay a little more
switching.

``X-Forwarded-For`` and ``X-Forwarded-Proto`` are believed only from the proxies in ``trusted_proxies``
(``api.trustedProxies``; none by default): from anyone else they would let a peer choose the address its sign-in
back-off counts, or make plain ws:// pass for TLS.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from starlette.applications import Starlette

from tc_calendar.api.limits import ApiLimits

#: Seconds between forced GIL hand-overs while the API serves (``sys.setswitchinterval``; Python's default is 0.005).
SWITCH_INTERVAL = 0.0005


@dataclass(frozen=True, slots=True)
class RunningServer:
    host: str
    port: int
    tls: bool
    server: uvicorn.Server

    @property
    def url(self) -> str:
        return f"{'wss' if self.tls else 'ws'}://{self.host}:{self.port}/ws"


def uvicorn_config(
    app: Starlette,
    limits: ApiLimits,
    *,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
    log_level: str = "warning",
    trusted_proxies: Sequence[str] = (),
) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        ws="websockets-sansio",
        ws_max_size=limits.hard_frame_bytes,
        ws_per_message_deflate=False,
        ws_ping_interval=20.0,
        ws_ping_timeout=20.0,
        lifespan="on",
        log_level=log_level,
        access_log=False,
        proxy_headers=bool(trusted_proxies),
        forwarded_allow_ips=list(trusted_proxies) or None,
        ssl_certfile=str(tls_cert) if tls_cert else None,
        ssl_keyfile=str(tls_key) if tls_key else None,
        timeout_graceful_shutdown=5,
    )


def listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.setblocking(False)
    return sock


@contextlib.asynccontextmanager
async def run_server(
    app: Starlette,
    limits: ApiLimits,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
    sock: socket.socket | None = None,
    trusted_proxies: Sequence[str] = (),
) -> AsyncIterator[RunningServer]:
    """Serve ``app`` until the block exits; then close connections and stop (also on error).

    ``sock`` is an already bound listening socket to serve on instead (socket activation, tests).
    ``trusted_proxies`` are the addresses or networks whose forwarded headers are believed.
    """
    config = uvicorn_config(app, limits, tls_cert=tls_cert, tls_key=tls_key, trusted_proxies=trusted_proxies)
    server = uvicorn.Server(config)
    if sock is None:
        sock = listening_socket(host, port)
    host = sock.getsockname()[0]
    task = asyncio.create_task(server.serve(sockets=[sock]), name="api-uvicorn")
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(min(switch_interval, SWITCH_INTERVAL))
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("the API server stopped while starting")
            await asyncio.sleep(0.01)
        yield RunningServer(host, sock.getsockname()[1], tls_cert is not None, server)
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task
        sock.close()
        sys.setswitchinterval(switch_interval)
