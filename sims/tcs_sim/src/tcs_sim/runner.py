"""Serve a :class:`World` over a real socket in a background thread, for tests and the demo.

Usage::

    with SimServer(seed_world(World())) as sim:
        client = SomeClient(sim.url)          # http://127.0.0.1:<free port>
        sim.world.set_faults(server_errors=1)
        ...
        assert sim.world.runs_of("5576502892")

The server runs its own event loop in its own thread, so a test's event loop (and its clients) never share a
loop with the server: what crosses between them is real HTTP over loopback.
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType

import uvicorn

from tcs_sim.app import build_app
from tcs_sim.state import World


class SimServer:
    """A running simulator; a context manager that starts on enter and stops on exit."""

    def __init__(self, world: World | None = None, *, host: str = "127.0.0.1", port: int = 0,
                 ssl_certfile: str | None = None, ssl_keyfile: str | None = None) -> None:
        """``ssl_certfile``/``ssl_keyfile`` (PEM) serve HTTPS, as a real TrueConf Server does."""
        self.world = world if world is not None else World()
        self._host = host
        self._port = port
        self._ssl_certfile = ssl_certfile
        self._ssl_keyfile = ssl_keyfile
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def port(self) -> int:
        if self._socket is None:
            raise RuntimeError("the simulator is not running")
        return int(self._socket.getsockname()[1])

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:43817`` (the API is under ``/api/v3.11`` and ``/api/v4``)."""
        scheme = "https" if self._ssl_certfile else "http"
        return f"{scheme}://{self._host}:{self.port}"

    def start(self, timeout: float = 10.0) -> SimServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted connections inherit this; without it every response waits ~40 ms for a delayed ACK.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((self._host, self._port))
        self._socket = sock
        config = uvicorn.Config(build_app(self.world), log_level="warning", access_log=False, lifespan="off",
                                ssl_certfile=self._ssl_certfile, ssl_keyfile=self._ssl_keyfile)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name="tcs-sim", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the TrueConf Server simulator did not start")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = None

    def __enter__(self) -> SimServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
