"""A webhook receiver for tests: an HTTPS server that answers Graph's validation handshake and records
notifications, playing a subscriber's endpoint (like the connector's own HTTP server would)."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from ews_sim.tls import self_signed


class Receiver:
    """``url(path)`` for a notificationUrl; ``received(path)`` the JSON bodies POSTed there; ``validations``
    the tokens seen. ``echo_validation=False`` answers handshakes wrongly; ``status`` is the answer to
    notifications (202 by default)."""

    def __init__(self) -> None:
        files = self_signed(["127.0.0.1", "localhost"])
        self.ca_file = files.cert_file
        self._key_file = files.key_file
        self.echo_validation = True
        self.status = 202
        self.validations: list[str] = []
        self._received: dict[str, list[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        app = Starlette(routes=[Route("/{path:path}", self._hook, methods=["POST"])])
        self._server = uvicorn.Server(
            uvicorn.Config(app, log_level="warning", ssl_certfile=self.ca_file, ssl_keyfile=self._key_file,
                           lifespan="off", timeout_graceful_shutdown=1)
        )  # fmt: skip
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True)

    def start(self) -> Receiver:
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("receiver did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)

    def reset(self) -> None:
        with self._lock:
            self.echo_validation, self.status = True, 202
            self.validations.clear()
            self._received.clear()

    def url(self, path: str = "notify", scheme: str = "https") -> str:
        return f"{scheme}://127.0.0.1:{self._sock.getsockname()[1]}/{path}"

    async def _hook(self, request: Request) -> Response:
        token = request.query_params.get("validationToken")
        if token is not None:
            with self._lock:
                self.validations.append(token)
            return PlainTextResponse(token if self.echo_validation else "nope")
        body = await request.json()
        with self._cond:
            self._received.setdefault(request.path_params["path"], []).append(body)
            self._cond.notify_all()
            return Response(status_code=self.status)

    def received(self, path: str = "notify") -> list[dict[str, Any]]:
        with self._lock:
            return list(self._received.get(path, []))

    def wait_for(self, path: str, predicate: Any, timeout: float = 30) -> list[dict[str, Any]]:
        """Every notification value POSTed to ``path`` once ``predicate(values)`` holds (AssertionError after
        ``timeout``)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                values = [v for body in self._received.get(path, []) for v in body["value"]]
                if predicate(values):
                    return values
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no matching notification on /{path}: {values}")
                self._cond.wait(left)
