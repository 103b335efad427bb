"""The simulator's HTTPS server: login host and Graph host on one port, plus ``/control/``.

Starlette on uvicorn in a background thread with its own event loop, so a test's clients (and their loop)
talk to it over real loopback sockets only. HTTPS only, as msal refuses other authorities: a self-signed
certificate (``ca_file``, to pass as ``verify=``) unless one is given.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ews_sim.tls import self_signed
from ews_sim.world import InvalidRequest, UnknownCommand, World
from graph_sim.api import JSON_TYPE, Call, GraphApi, Reply, error_reply, parse_json_body
from graph_sim.batch import run_batch
from graph_sim.control import GraphControl
from graph_sim.delta import DeltaStore
from graph_sim.errors import GraphError
from graph_sim.gate import GraphGate
from graph_sim.identity import Identity
from graph_sim.subscriptions import NotificationOptions, SubscriptionService
from graph_sim.tenant import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT_ID, Tenant, TokenError

_WWW_AUTHENTICATE = (
    'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", '
    'client_id="00000003-0000-0000-c000-000000000000"'
)


class GraphSimulator:
    """A running Graph simulator over ``world`` (a context manager: starts on enter, stops on exit).

    ``options``: ``host``, ``port``, ``tenant_id``, ``cert_file``/``key_file`` (default: self-signed),
    ``control_token``, ``token_lifetime`` (seconds), ``default_app`` (register the default app, True),
    ``allow_http_notifications``, ``notification_ca_file``, ``verify_notifications``, ``notification_timeout``.
    """

    def __init__(
        self,
        world: World | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tenant_id: str = DEFAULT_TENANT_ID,
        cert_file: str | None = None,
        key_file: str | None = None,
        control_token: str | None = None,
        token_lifetime: int | None = None,
        default_app: bool = True,
        **notification_options: Any,
    ) -> None:
        self.world = world if world is not None else World()
        self.tenant = Tenant(self.world.clock, tenant_id.lower())
        if token_lifetime is not None:
            self.tenant.token_lifetime = token_lifetime
        self._token_lifetime = self.tenant.token_lifetime
        self.client_id = DEFAULT_CLIENT_ID
        self.client_secret = DEFAULT_CLIENT_SECRET
        if default_app:
            self.tenant.add_app(
                DEFAULT_CLIENT_ID,
                secret=DEFAULT_CLIENT_SECRET,
                roles={"Calendars.Read", "Calendars.ReadWrite"},
                display_name="graph-sim default app",
            )
        self.gate = GraphGate()
        self.deltas = DeltaStore(self.world.clock)
        self.api = GraphApi(self.world, self.tenant, self.gate, self.deltas)
        self.identity = Identity(self.tenant, self.gate.count)
        self.subscriptions = SubscriptionService(
            self.world, self.tenant, self.api, NotificationOptions.from_options(notification_options)
        )
        self.api.extra_routes = [("subscriptions", self.subscriptions.handle), ("$batch", self._batch)]
        self.control = GraphControl(self)
        self._control_token = control_token
        self._host = host
        self._port = port
        self._url_host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # what clients connect to
        if cert_file is None or key_file is None:
            files = self_signed(list(dict.fromkeys([self._url_host, "localhost", "127.0.0.1"])))
            cert_file, key_file = files.cert_file, files.key_file
        self.ca_file = cert_file
        self._key_file = key_file
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    def reset(self) -> None:
        """Forget the world, the tenant's extra apps, faults, counters, delta state and subscriptions, as a fresh
        simulator on the same port (tokens of the default app stay valid)."""
        self.world.reset()
        for app in self.tenant.apps():
            if app.client_id != DEFAULT_CLIENT_ID:
                self.tenant.remove_app(app.client_id)
        default = self.tenant.app(DEFAULT_CLIENT_ID)
        if default is not None:
            default.access_policy = None
        self.tenant.token_lifetime = self._token_lifetime
        self.gate.clear()
        self.gate.reset_counters()
        self.deltas.clear()
        self.subscriptions.reset()

    # -- addresses ------------------------------------------------------------------------------------------

    @property
    def tenant_id(self) -> str:
        return self.tenant.tenant_id

    @property
    def port(self) -> int:
        if self._socket is None:
            raise RuntimeError("the Graph simulator is not running")
        return int(self._socket.getsockname()[1])

    @property
    def base_url(self) -> str:
        return f"https://{self._url_host}:{self.port}"

    @property
    def graph_url(self) -> str:
        return f"{self.base_url}/v1.0"

    @property
    def authority(self) -> str:
        return f"{self.base_url}/{self.tenant_id}"

    @property
    def control_url(self) -> str:
        return f"{self.base_url}/control"

    # -- HTTP -----------------------------------------------------------------------------------------------

    def build_app(self) -> Starlette:
        routes = [
            *self.identity.routes(),
            Route("/control/{command}", self._control, methods=["GET", "POST"]),
            Route("/v1.0/{path:path}", self._graph, methods=["GET", "POST", "PATCH", "DELETE", "PUT"]),
        ]
        return Starlette(routes=routes, lifespan=self._lifespan)

    @asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        await self._on_startup()
        try:
            yield
        finally:
            await self._on_shutdown()

    async def _on_startup(self) -> None:
        await self.subscriptions.start()

    async def _on_shutdown(self) -> None:
        await self.subscriptions.stop()

    async def _batch(self, call: Call, parts: list[str]) -> Reply:
        if len(parts) != 1 or call.method != "POST":
            raise GraphError(405, "MethodNotAllowed", "Only POST is allowed on $batch.")
        reply = await run_batch(call, self.api.dispatch)
        self.gate.count("batch", str(reply.status))
        return reply

    async def _graph(self, request: Request) -> Response:
        self.gate.count_http_request()
        graph_url = f"{request.url.scheme}://{request.url.netloc}/v1.0"
        try:
            claims = self._authenticate(request)
            call = Call(
                request.method,
                request.path_params["path"],
                dict(request.query_params),
                request.headers,
                parse_json_body(await request.body()),
                claims,
                graph_url,
            )
            reply = await self.handle(call)
        except GraphError as exc:
            if exc.status == 401:
                exc.headers.setdefault("WWW-Authenticate", _WWW_AUTHENTICATE)
            self.gate.count("auth" if exc.status == 401 else "request", str(exc.status))
            reply = error_reply(exc, request.headers)
        return to_response(reply, request.headers)

    async def handle(self, call: Call) -> Reply:
        return await self.api.dispatch(call)

    def _authenticate(self, request: Request) -> Any:
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("bearer ") or not header[7:].strip():
            raise GraphError(401, "InvalidAuthenticationToken", "Access token is empty.")
        try:
            return self.tenant.verify(header[7:].strip())
        except TokenError as exc:
            raise GraphError(401, "InvalidAuthenticationToken", str(exc)) from exc

    async def _control(self, request: Request) -> Response:
        expected = f"Bearer {self._control_token}"
        if self._control_token is not None and request.headers.get("authorization", "") != expected:
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        command = request.path_params["command"]
        params: dict[str, Any] = {}
        if request.method == "POST":
            raw = await request.body()
            if raw.strip():
                try:
                    params = json.loads(raw)
                except json.JSONDecodeError as exc:
                    return JSONResponse({"error": "bad_json", "message": str(exc)}, status_code=400)
                if not isinstance(params, dict):
                    return JSONResponse({"error": "bad_json", "message": "a JSON object is expected"}, status_code=400)
        try:
            result = self.control.dispatch(command, params)
        except UnknownCommand:
            return JSONResponse({"error": "unknown_command", "message": command}, status_code=404)
        except (InvalidRequest, GraphError) as exc:
            return JSONResponse({"error": type(exc).__name__, "message": str(exc)}, status_code=400)
        return JSONResponse(result)

    # -- lifecycle ------------------------------------------------------------------------------------------

    def start(self, timeout: float = 15.0) -> GraphSimulator:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((self._host, self._port))
        self._socket = sock
        config = uvicorn.Config(
            self.build_app(),
            log_level="warning",
            access_log=False,
            lifespan="on",
            ssl_certfile=self.ca_file,
            ssl_keyfile=self._key_file,
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="graph-sim", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the Graph simulator did not start")
            time.sleep(0.01)
        return self

    @property
    def open_connections(self) -> int:
        """HTTP connections clients hold open to the simulator (Graph and the token endpoint) right now."""
        return 0 if self._server is None else len(self._server.server_state.connections)

    def stop(self, timeout: float = 10.0) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = None

    def __enter__(self) -> GraphSimulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def to_response(reply: Reply, request_headers: Any) -> Response:
    request_id = str(uuid.uuid4())
    headers = {
        "request-id": request_id,
        "client-request-id": request_headers.get("client-request-id", request_id),
        "OData-Version": "4.0",
        **reply.headers,
    }
    if reply.body is None:
        return Response(status_code=reply.status, headers=headers)
    if isinstance(reply.body, str):
        return Response(reply.body, status_code=reply.status, headers=headers, media_type="text/plain")
    return Response(
        json.dumps(reply.body, ensure_ascii=False), status_code=reply.status, headers=headers, media_type=JSON_TYPE
    )
