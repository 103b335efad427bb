"""One handler per API operation: a :class:`Call` in, ``(status, JSON body)`` out, or an ``ApiError`` raised.

``ROUTES`` maps (method, path under ``/api/<version>/``) to handlers; the version family column keeps
v3-only and v4-only operations apart.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from tcs_sim import errors
from tcs_sim.state import World


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


CID = r"(?P<cid>[0-9A-Za-z_]{1,128})"
ROUTES: list[tuple[str, re.Pattern[str], Handler, str]] = [
    # (method, path pattern, handler, versions: "all" | "v3" | "v4")
    ("GET", re.compile(r"^users$"), list_users, "all"),
    ("GET", re.compile(r"^users/(?P<uid>[^/]+)$"), get_user, "all"),
    ("GET", re.compile(r"^conferences$"), list_conferences, "all"),
    ("POST", re.compile(r"^conferences$"), create_conference, "all"),
    ("GET", re.compile(rf"^conferences/{CID}$"), get_conference, "all"),
    ("PUT", re.compile(rf"^conferences/{CID}$"), update_conference, "all"),
    ("PATCH", re.compile(rf"^conferences/{CID}$"), update_conference, "all"),
    ("DELETE", re.compile(rf"^conferences/{CID}$"), delete_conference, "all"),
    ("POST", re.compile(rf"^conferences/{CID}/run$"), run_conference, "all"),
    ("POST", re.compile(rf"^conferences/{CID}/stop$"), stop_conference, "all"),
    ("GET", re.compile(rf"^conferences/{CID}/invitations$"), list_invitations, "all"),
    ("POST", re.compile(rf"^conferences/{CID}/invitations$"), add_invitation, "all"),
    ("DELETE", re.compile(rf"^conferences/{CID}/invitations/(?P<inv>[^/]+)$"), remove_invitation, "all"),
    ("GET", re.compile(rf"^conferences/{CID}/participants$"), list_participants, "all"),
    ("POST", re.compile(rf"^conferences/{CID}/participants$"), invite_participant_v3, "v3"),
    ("POST", re.compile(rf"^conferences/{CID}/invite$"), invite_participants_v4, "v4"),
]
