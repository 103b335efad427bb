"""Serve a :class:`Registry` over a real loopback socket in a background thread, for tests and the demo.

Usage::

    with RegServer() as reg:
        reg.registry.add_key("STD-0001")
        ...  # tc-calendar with registration.server = reg.url, registration.publicKey = reg.registry.public_key
        reg.registry.available = False        # an outage: every request answers 503
    # leaving the block stops the server and frees the port

The server runs its own event loop in its own thread, so what crosses between it and a test is real HTTP.
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType

import uvicorn

from reg_sim.app import build_app
from reg_sim.registry import Registry


class RegServer:
    """A running registration server; a context manager that starts on enter and stops on exit."""

    def __init__(self, registry: Registry | None = None, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.registry = registry if registry is not None else Registry()
        self._host = host
        self._port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def port(self) -> int:
        if self._socket is None:
            raise RuntimeError("the registration server simulator is not running")
        return int(self._socket.getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"

    def start(self, timeout: float = 10.0) -> RegServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((self._host, self._port))
        self._socket = sock
        config = uvicorn.Config(build_app(self.registry), log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name="reg-sim", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the registration server simulator did not start")
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
        self._socket = None

    def __enter__(self) -> RegServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
