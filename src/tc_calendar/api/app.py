"""The ASGI application: the WebSocket API on ``/ws`` (and ``/`` for compatibility) plus the routes others mount.

``create_app`` takes every dependency as a parameter (no globals), so the service, tests and benchmarks build
the same app around a real store. ``/health``, ``/metrics`` and the web page's static files are passed in as
``extra_routes`` by their owners.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.routing import BaseRoute, WebSocketRoute
from starlette.websockets import WebSocket

from tc_calendar.api.connection import Connection
from tc_calendar.api.feed import ChangeFeed, ChangeSignal
from tc_calendar.api.limits import AddressSlots
from tc_calendar.api.methods import ApiServices, Methods
from tc_calendar.api.ports import ChangeNotifier

Lifespan = Callable[[Starlette], AbstractAsyncContextManager[None]]


@dataclass
class ApiState:
    """What the app keeps; reachable as ``app.state.api`` (for /health and metrics)."""

    services: ApiServices
    methods: Methods
    feed: ChangeFeed
    signal: ChangeSignal
    slots: AddressSlots
    connections: set[Connection]


def create_app(
    services: ApiServices,
    *,
    signal: ChangeSignal | None = None,
    notifier: ChangeNotifier | None = None,
    extra_routes: Sequence[BaseRoute] = (),
    lifespan: Lifespan | None = None,
) -> Starlette:
    """Build the app.

    The change feed wakes at once when ``signal.notify_new_changes()`` is called; with ``notifier`` (the store)
    the app registers that call as a change listener while it runs. Without either, the feed still polls.
    """
    signal = signal or ChangeSignal()
    feed = ChangeFeed(services.changes, services.calendar, signal, poll_interval=services.limits.poll_interval)
    state = ApiState(
        services=services,
        methods=Methods(services),
        feed=feed,
        signal=signal,
        slots=AddressSlots(services.limits.max_connections_per_address),
        connections=set(),
    )

    async def websocket_endpoint(ws: WebSocket) -> None:
        connection = Connection(ws, state.methods, state.feed, state.slots, services.limits)
        state.connections.add(connection)
        try:
            await connection.serve()
        finally:
            state.connections.discard(connection)

    @contextlib.asynccontextmanager
    async def app_lifespan(app: Starlette) -> AsyncIterator[None]:
        await feed.start()
        poller = asyncio.create_task(feed.run(), name="api-change-feed")
        if notifier is not None:
            notifier.add_change_listener(signal.notify_new_changes)
        try:
            if lifespan is not None:
                async with lifespan(app):
                    yield
            else:
                yield
        finally:
            if notifier is not None:
                notifier.remove_change_listener(signal.notify_new_changes)
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poller

    routes: list[BaseRoute] = [
        WebSocketRoute("/ws", websocket_endpoint),
        WebSocketRoute("/", websocket_endpoint),
        *extra_routes,
    ]
    app = Starlette(routes=routes, lifespan=app_lifespan)
    app.state.api = state
    return app
