"""The simulator's HTTP surface: TrueConf Server's public REST API (v3.x and v4) plus ``/_control``.

Paths, bodies and envelopes follow the public shapes collected in the project's TrueConf reference:
``POST /oauth2/v1/token``; ``/api/v3.<n>/...`` and ``/api/v4[.<n>]/...`` with the token in ``access_token``
or ``Authorization: Bearer``; v3 updates with ``PUT``, v4 with ``PATCH``; v3 adds an invitation from a flat
body, v4 from ``{"invitation": {...}}`` (both are accepted on both, as servers are lenient about it).
Where the public sources are silent the simulator chooses and says so: an invalid token is answered with
403 ``accessTokenInvalid`` on v3 and 401 with the same envelope on v4.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tcs_sim import errors
from tcs_sim.control import control_routes
from tcs_sim.handlers import ROUTES, Call, Handler
from tcs_sim.join_page import join_routes
from tcs_sim.state import World

_VERSION = re.compile(r"^v(3\.\d+|4(\.\d+)?)$")


def _resolve(method: str, version: str, rest: str) -> tuple[Handler, re.Match[str]]:
    family = "v4" if version.startswith("v4") else "v3"
    path_matched = False
    for route_method, pattern, handler, versions in ROUTES:
        match = pattern.match(rest)
        if match is None or versions not in ("all", family):
            continue
        path_matched = True
        if route_method == method:
            return handler, match
    if path_matched:
        raise errors.ApiError(405, "methodNotAllowed", f"{method} is not allowed on /api/{version}/{rest}.")
    raise errors.ApiError(404, "notFound", f"/api/{version}/{rest} is not an API path of this server.")


def _token_of(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.query_params.get("access_token")


def _error_response(exc: errors.ApiError) -> JSONResponse:
    return JSONResponse(exc.envelope(), status_code=exc.status)


async def _before(world: World, request: Request) -> int | None:
    """Apply latency and a pending 5xx fault; the status to fail with, if any."""
    if world.faults.latency > 0:
        await asyncio.sleep(world.faults.latency)
    return world.take_server_error(request.url.path)


def build_app(world: World) -> Starlette:
    """The ASGI application serving ``world``."""

    async def api(request: Request) -> Response:
        version = request.path_params["version"]
        rest = request.path_params["rest"].strip("/")
        response = await _api(request, version, rest)
        world.record(request.method, request.url.path, response.status_code, version)
        return response

    async def _api(request: Request, version: str, rest: str) -> Response:
        failure = await _before(world, request)
        if failure is not None:
            return _error_response(errors.ApiError(failure, "backendError", "The server is temporarily unavailable."))
        if not _VERSION.match(version):
            return _error_response(errors.ApiError(404, "notFound", f"API version '{version}' is not served."))
        if version.startswith("v4") and rest == "server":
            return JSONResponse({"product": {"version": "5.5.3.0", "display_name": world.server_name}})
        try:
            handler, match = _resolve(request.method, version, rest)
            try:
                world.check_token(_token_of(request))
            except errors.ApiError as exc:
                if version.startswith("v4"):
                    exc.status = 401
                raise
            status, body = await handler(Call(world, request, version, match))
        except errors.ApiError as exc:
            return _error_response(exc)
        return JSONResponse(body, status_code=status)

    async def token(request: Request) -> Response:
        response = await _token(request)
        world.record(request.method, request.url.path, response.status_code, None)
        return response

    async def _token(request: Request) -> Response:
        failure = await _before(world, request)
        if failure is not None:
            return JSONResponse({"error": "server_error", "error_description": "temporarily unavailable"},
                                status_code=failure)
        if request.headers.get("content-type", "").startswith("application/json"):
            try:
                form: dict[str, Any] = json.loads(await request.body() or b"{}")
            except ValueError:
                form = {}
        else:
            form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        if form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type",
                                 "error_description": "The simulator supports grant_type=client_credentials."},
                                status_code=400)
        try:
            issued = world.issue_token(str(form.get("client_id", "")), str(form.get("client_secret", "")))
        except ValueError:
            return JSONResponse({"error": "invalid_client",
                                 "error_description": "Client authentication failed: unknown client_id or wrong "
                                                      "client_secret."}, status_code=401)
        return JSONResponse(issued)

    routes = [
        Route("/oauth2/v1/token", token, methods=["POST"]),
        Route("/api/{version}/{rest:path}", api, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
        *control_routes(world),
        *join_routes(world),
    ]
    return Starlette(routes=routes)
