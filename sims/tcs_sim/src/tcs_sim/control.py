"""``/_control``: shape the simulated world and read what happened, over HTTP (for the demo and other processes).

| route | body | effect |
|---|---|---|
| ``GET /_control/state`` | - | users, conferences, runs, live invites, request log, tokens issued, faults |
| ``POST /_control/faults`` | ``{"token_failures", "server_errors", "server_error_status", ...}`` | arm faults (1) |
| ``POST /_control/faults/clear`` | - | disarm every fault |
| ``POST /_control/tokens/revoke`` | - | every issued token becomes invalid |
| ``POST /_control/token_lifetime`` | ``{"seconds": n}`` | ``expires_in`` of tokens issued from now on |
| ``POST /_control/time`` | ``{"advance": seconds}`` | move the simulator's clock forward |
| ``POST /_control/users`` | ``{"id", "email", "display_name"}`` | add a user |
| ``POST /_control/conferences`` | a conference create body | add a conference |
| ``POST /_control/conferences/{id}/state`` | ``{"state": "running"|"stopped"}`` | start/stop without an API call |

(1) Keys: ``token_failures``, ``server_errors``, ``server_error_status``, ``server_error_path`` (only requests
whose path ends with it fail), ``latency`` (seconds); see :class:`tcs_sim.state.Faults`.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from tcs_sim import errors
from tcs_sim.state import SimClock, World


async def _json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    data = json.loads(raw) if raw else {}
    if not isinstance(data, dict):
        raise errors.bad_request("invalidJson", "Control bodies are JSON objects.")
    return data


def control_routes(world: World) -> list[BaseRoute]:
    """Routes bound to ``world``."""

    async def state(request: Request) -> Response:
        return JSONResponse(world.snapshot())

    async def faults(request: Request) -> Response:
        body = await _json(request)
        world.set_faults(
            token_failures=body.get("token_failures"),
            server_errors=body.get("server_errors"),
            server_error_status=body.get("server_error_status"),
            server_error_path=body.get("server_error_path"),
            latency=body.get("latency"),
        )
        return JSONResponse(world.snapshot()["faults"])

    async def clear_faults(request: Request) -> Response:
        world.clear_faults()
        return JSONResponse(world.snapshot()["faults"])

    async def revoke(request: Request) -> Response:
        world.revoke_tokens()
        return JSONResponse({"revoked": True})

    async def token_lifetime(request: Request) -> Response:
        body = await _json(request)
        with world.locked():
            world.token_lifetime = int(body["seconds"])
        return JSONResponse({"token_lifetime": world.token_lifetime})

    async def advance_time(request: Request) -> Response:
        body = await _json(request)
        if not isinstance(world.clock, SimClock):
            return JSONResponse({"error": "this world's clock cannot be moved"}, status_code=409)
        world.clock.advance(float(body["advance"]))
        return JSONResponse({"now": world.clock()})

    async def add_user(request: Request) -> Response:
        body = await _json(request)
        extra = {k: v for k, v in body.items() if k not in ("id", "email", "display_name")}
        return JSONResponse(world.add_user(str(body["id"]), str(body["email"]), body.get("display_name"), **extra))

    async def add_conference(request: Request) -> Response:
        try:
            return JSONResponse(world.create_conference(await _json(request)))
        except errors.ApiError as exc:
            return JSONResponse(exc.envelope(), status_code=exc.status)

    async def set_state(request: Request) -> Response:
        body = await _json(request)
        cid = request.path_params["cid"]
        try:
            if body.get("state") == "running":
                with world.locked():
                    world.conference(cid)["state"] = "running"
            else:
                world.stop_conference(cid)
        except errors.ApiError as exc:
            return JSONResponse(exc.envelope(), status_code=exc.status)
        return JSONResponse(world.conference_view(cid))

    return [
        Route("/_control/state", state, methods=["GET"]),
        Route("/_control/faults", faults, methods=["POST"]),
        Route("/_control/faults/clear", clear_faults, methods=["POST"]),
        Route("/_control/tokens/revoke", revoke, methods=["POST"]),
        Route("/_control/token_lifetime", token_lifetime, methods=["POST"]),
        Route("/_control/time", advance_time, methods=["POST"]),
        Route("/_control/users", add_user, methods=["POST"]),
        Route("/_control/conferences", add_conference, methods=["POST"]),
        Route("/_control/conferences/{cid}/state", set_state, methods=["POST"]),
    ]
