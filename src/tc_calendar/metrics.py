"""Prometheus metrics of one connector process.

A ``Metrics`` object owns its own registry (no global state), so tests and several services in one process do
not collide; ``/metrics`` renders exactly this registry.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["CONTENT_TYPE_LATEST", "Metrics"]


class Metrics:
    """The connector's metrics, named ``tc_calendar_*``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.mailboxes = Gauge("tc_calendar_mailboxes", "Mailboxes by sync state.", ["state"], registry=self.registry)
        self.sync_latency = Histogram(
            "tc_calendar_sync_latency_seconds",
            "From a change notification to its change-log commit.",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
            registry=self.registry,
        )
        self.ews_requests = Counter(
            "tc_calendar_ews_requests",
            "EWS requests by operation and result.",
            ["operation", "result"],
            registry=self.registry,
        )
        self.graph_requests = Counter(
            "tc_calendar_graph_requests",
            "Microsoft Graph requests by operation and result (each request of a $batch counts, and the batch once).",
            ["operation", "result"],
            registry=self.registry,
        )
        self.notifications_failing = Gauge(
            "tc_calendar_mailboxes_without_notifications",
            "Mailboxes whose change notifications fail (subscribe or stream): polled at the fallback interval.",
            registry=self.registry,
        )
        self.ws_clients = Gauge("tc_calendar_websocket_clients", "Connected WebSocket clients.", registry=self.registry)
        self.launches = Counter(
            "tc_calendar_conference_launches",
            "Conference launches by outcome.",
            ["outcome"],
            registry=self.registry,
        )
        self.changes = Counter("tc_calendar_changes", "Change-log entries written.", registry=self.registry)

    def set_mailbox_states(self, counts: dict[str, int]) -> None:
        """Replace the per-state gauge, so states that emptied read 0 instead of a stale value."""
        for state in ("pending", "syncing", "ok", "error", "over_limit", "disabled", *counts):
            self.mailboxes.labels(state=state).set(counts.get(state, 0))

    def render(self) -> bytes:
        return generate_latest(self.registry)
