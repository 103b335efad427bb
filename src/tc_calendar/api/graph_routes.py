"""The HTTP routes Microsoft Graph posts change notifications to: ``/graph/notifications`` and ``/graph/lifecycle``.

Both answer the validation handshake (``?validationToken=...`` echoed as ``text/plain``, 200) and otherwise hand
the body to the :class:`~tc_calendar.providers.graph_notifications.GraphInbox`, which checks every notification
(known subscription, right ``clientState``) before it wakes a sync loop. Graph wants 202 quickly and retries
anything else; a POST whose notifications were all refused gets 403, so a forger learns nothing more.
"""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from tc_calendar.providers.graph_notifications import LIFECYCLE_PATH, NOTIFICATIONS_PATH, GraphInbox

MAX_BODY_BYTES = 1_000_000


def graph_routes(inbox: GraphInbox) -> list[BaseRoute]:
    """The two routes, bound to ``inbox``."""

    async def receive(request: Request, *, lifecycle: bool) -> Response:
        token = request.query_params.get("validationToken")
        if token is not None:
            return PlainTextResponse(token, status_code=200)
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return Response(status_code=413)
        try:
            payload = json.loads(body or b"null")
        except ValueError:
            payload = None
        peer = request.client.host if request.client else "?"
        verdict = inbox.receive(payload, lifecycle=lifecycle, peer=peer)
        if verdict.accepted == 0 and verdict.refused > 0:
            return Response(status_code=403)
        return Response(status_code=202)

    async def notifications(request: Request) -> Response:
        return await receive(request, lifecycle=False)

    async def lifecycle(request: Request) -> Response:
        return await receive(request, lifecycle=True)

    return [
        Route(NOTIFICATIONS_PATH, notifications, methods=["POST"]),
        Route(LIFECYCLE_PATH, lifecycle, methods=["POST"]),
    ]
