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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tcs_sim import errors
from tcs_sim.control import control_routes
from tcs_sim.state import World

_VERSION = re.compile(r"^v(3\.\d+|4(\.\d+)?)$")


@dataclass(frozen=True)
class Call:
    """One authenticated API request, as the handlers see it."""

    world: World
    request: Request
    version: str
    match: re.Match[str]

    @property
    def is_v4(self) -> bool:
        return self.version.startswith("v4")

    async def body(self) -> dict[str, Any]:
        raw = await self.request.body()
        if not raw:
            return {}
        try:
            data = json.loads(raw)
        except ValueError:
            raise errors.bad_request("invalidJson", "The request body is not valid JSON.") from None
        if not isinstance(data, dict):
            raise errors.bad_request("invalidJson", "The request body must be a JSON object.")
        return data


Handler = Callable[[Call], Awaitable[tuple[int, dict[str, Any]]]]


# ---- handlers --------------------------------------------------------------------------------------------


async def list_users(call: Call) -> tuple[int, dict[str, Any]]:
    params = call.request.query_params
    try:
        page_id = max(int(params.get("page_id", "1")), 1)
        page_size = min(max(int(params.get("page_size", "50")), 1), 500)
    except ValueError:
        raise errors.bad_request("invalidValue", "page_id and page_size must be integers.", "page_id") from None
    with call.world.locked() as world:
        users = sorted(world.users.values(), key=lambda u: str(u["id"]))
        start = (page_id - 1) * page_size
        page = [dict(u) for u in users[start:start + page_size]]
        next_page = page_id + 1 if start + page_size < len(users) else -1
    return 200, {"next_page_id": next_page, "users": page}


async def get_user(call: Call) -> tuple[int, dict[str, Any]]:
    uid = call.match["uid"]
    with call.world.locked() as world:
        user = world.users.get(uid) or next((u for u in world.users.values() if u["uid"] == uid), None)
        if user is None:
            raise errors.user_not_found(uid)
        return 200, {"user": dict(user)}


async def list_conferences(call: Call) -> tuple[int, dict[str, Any]]:
    with call.world.locked() as world:
        confs = [world.conference_view(cid) for cid in sorted(world.conferences)]
    if call.is_v4:
        return 200, {"conferences": confs, "results": len(confs)}
    return 200, {"cnt": len(confs), "conferences": confs}


async def create_conference(call: Call) -> tuple[int, dict[str, Any]]:
    body = await call.body()
    body = body.get("conference", body) if isinstance(body.get("conference"), dict) else body
    return 200, {"conference": call.world.create_conference(body)}


async def get_conference(call: Call) -> tuple[int, dict[str, Any]]:
    return 200, {"conference": call.world.conference_view(call.match["cid"])}


async def update_conference(call: Call) -> tuple[int, dict[str, Any]]:
    expected = "PATCH" if call.is_v4 else "PUT"
    if call.request.method != expected:
        raise errors.ApiError(405, "methodNotAllowed", f"API {call.version} updates a conference with {expected}.")
    body = await call.body()
    body = body["conference"] if isinstance(body.get("conference"), dict) else body
    return 200, {"conference": call.world.update_conference(call.match["cid"], body)}


async def delete_conference(call: Call) -> tuple[int, dict[str, Any]]:
    call.world.delete_conference(call.match["cid"])
    return 200, {"id": call.match["cid"]}


async def run_conference(call: Call) -> tuple[int, dict[str, Any]]:
    call.world.run_conference(call.match["cid"], call.version)
    return 200, {"state": "running"}


async def stop_conference(call: Call) -> tuple[int, dict[str, Any]]:
    call.world.stop_conference(call.match["cid"])
    return 200, {"state": "stopped"}


async def list_invitations(call: Call) -> tuple[int, dict[str, Any]]:
    return 200, {"invitations": call.world.invitations(call.match["cid"])}


async def add_invitation(call: Call) -> tuple[int, dict[str, Any]]:
    body = await call.body()
    inv = body["invitation"] if isinstance(body.get("invitation"), dict) else body
    user_id = inv.get("id")
    if not isinstance(user_id, str) or not user_id:
        raise errors.bad_request("requiredParameterMissing", "The invitation needs an 'id'.", "id")
    display_name = inv.get("display_name")
    return 200, {"invitation": call.world.add_invitation(call.match["cid"], user_id, display_name)}


async def remove_invitation(call: Call) -> tuple[int, dict[str, Any]]:
    call.world.remove_invitation(call.match["cid"], call.match["inv"])
    return 200, {"id": call.match["inv"]}


async def list_participants(call: Call) -> tuple[int, dict[str, Any]]:
    return 200, {"participants": call.world.participants(call.match["cid"])}


async def invite_participant_v3(call: Call) -> tuple[int, dict[str, Any]]:
    body = await call.body()
    user_id = body.get("participant_id")
    if not isinstance(user_id, str) or not user_id:
        raise errors.bad_request("requiredParameterMissing", "'participant_id' is required.", "participant_id")
    call.world.invite_live(call.match["cid"], [user_id], call.version)
    return 200, {"participant_id": user_id}


async def invite_participants_v4(call: Call) -> tuple[int, dict[str, Any]]:
    body = await call.body()
    ids = body.get("participants")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        raise errors.bad_request("requiredParameterMissing", "'participants' must be a list of user IDs.",
                                 "participants")
    call.world.invite_live(call.match["cid"], ids, call.version)
    return 200, {"participants": ids}


_CID = r"(?P<cid>[0-9A-Za-z_]{1,128})"
_ROUTES: list[tuple[str, re.Pattern[str], Handler, str]] = [
    # (method, path pattern, handler, versions: "all" | "v3" | "v4")
    ("GET", re.compile(r"^users$"), list_users, "all"),
    ("GET", re.compile(r"^users/(?P<uid>[^/]+)$"), get_user, "all"),
    ("GET", re.compile(r"^conferences$"), list_conferences, "all"),
    ("POST", re.compile(r"^conferences$"), create_conference, "all"),
    ("GET", re.compile(rf"^conferences/{_CID}$"), get_conference, "all"),
    ("PUT", re.compile(rf"^conferences/{_CID}$"), update_conference, "all"),
    ("PATCH", re.compile(rf"^conferences/{_CID}$"), update_conference, "all"),
    ("DELETE", re.compile(rf"^conferences/{_CID}$"), delete_conference, "all"),
    ("POST", re.compile(rf"^conferences/{_CID}/run$"), run_conference, "all"),
    ("POST", re.compile(rf"^conferences/{_CID}/stop$"), stop_conference, "all"),
    ("GET", re.compile(rf"^conferences/{_CID}/invitations$"), list_invitations, "all"),
    ("POST", re.compile(rf"^conferences/{_CID}/invitations$"), add_invitation, "all"),
    ("DELETE", re.compile(rf"^conferences/{_CID}/invitations/(?P<inv>[^/]+)$"), remove_invitation, "all"),
    ("GET", re.compile(rf"^conferences/{_CID}/participants$"), list_participants, "all"),
    ("POST", re.compile(rf"^conferences/{_CID}/participants$"), invite_participant_v3, "v3"),
    ("POST", re.compile(rf"^conferences/{_CID}/invite$"), invite_participants_v4, "v4"),
]


def _resolve(method: str, version: str, rest: str) -> tuple[Handler, re.Match[str]]:
    family = "v4" if version.startswith("v4") else "v3"
    path_matched = False
    for route_method, pattern, handler, versions in _ROUTES:
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
    ]
    return Starlette(routes=routes)
