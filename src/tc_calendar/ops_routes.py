"""``/health`` and ``/metrics``: what a load balancer, systemd watchdog or Prometheus asks the connector.

``/health`` answers 200 only when the store answers a query, synchronization is running, and not every mailbox
is failing (:mod:`tc_calendar.health`), so an orchestrator restarts a connector that lost its database and a
monitor sees from the status code alone when nothing is being synchronized. Both routes read the mailbox states
from the store at request time, as ``tc_calendar status`` does, so the three always agree.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from tc_calendar.health import sync_verdict
from tc_calendar.metrics import CONTENT_TYPE_LATEST, Metrics

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class HealthProbe:
    """How ``/health`` finds out: a store round trip, whether sync runs, and mailbox counts by state."""

    store_ping: Callable[[], Awaitable[object]]
    sync_running: Callable[[], bool]
    mailbox_states: Callable[[], Awaitable[dict[str, int]]]
    timeout_seconds: float = 3.0


def ops_routes(probe: HealthProbe, metrics: Metrics) -> list[BaseRoute]:
    async def health(_: Request) -> Response:
        store_ok, states = True, {}
        try:
            await asyncio.wait_for(probe.store_ping(), probe.timeout_seconds)
            states = await asyncio.wait_for(probe.mailbox_states(), probe.timeout_seconds)
        except Exception:  # any failure to reach the store means "not ready"; the reason is in the log
            store_ok = False
        sync_ok = probe.sync_running()
        status = sync_verdict(states) if store_ok and sync_ok else "unavailable"
        body = {
            "status": status,
            "store": "ok" if store_ok else "unreachable",
            "sync": "running" if sync_ok else "stopped",
            "mailboxes": states,
        }
        return JSONResponse(body, status_code=200 if status in ("ok", "degraded") else 503)

    async def render_metrics(_: Request) -> Response:
        try:
            metrics.set_mailbox_states(await asyncio.wait_for(probe.mailbox_states(), probe.timeout_seconds))
        except Exception:  # the other metrics are still worth a scrape; /health says the store is unreachable
            log.debug("reading the mailbox states for /metrics failed", exc_info=True)
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    return [Route("/health", health), Route("/metrics", render_metrics)]
