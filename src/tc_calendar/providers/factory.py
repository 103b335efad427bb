"""One provider per ``calendarProviders`` entry, by its ``type``: ``ews`` (the default, as in the seed) or ``graph``.

Several entries make a hybrid organization: on-premises mailboxes on an EWS provider, Exchange Online mailboxes
on a Graph provider, all synchronized by the same engine into the same store.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tc_calendar.metrics import Metrics
from tc_calendar.providers.base import CalendarProvider
from tc_calendar.providers.graph_notifications import GraphInbox


def provider_type(entry: Any) -> str:
    """``graph`` or ``ews`` (entries without a type are EWS, as in the seed)."""
    return str(getattr(entry, "type", None) or "ews").lower()


def needs_graph_inbox(entries: Any) -> bool:
    """Whether some Graph entry receives change notifications (then the HTTP server mounts the routes)."""
    return any(provider_type(e) == "graph" and getattr(e, "notification_url", None) for e in entries)


def build_provider(
    entry: Any,
    *,
    metrics: Metrics | None = None,
    graph_inbox: GraphInbox | None = None,
    ews_options: dict[str, Any] | None = None,
    graph_options: dict[str, Any] | None = None,
) -> CalendarProvider:
    """The provider for one entry; ``ews_options``/``graph_options`` tune the adapters (tests shorten timings)."""
    if provider_type(entry) == "graph":
        from tc_calendar.providers.graph import GraphProvider

        return GraphProvider.from_settings(entry, metrics=metrics, inbox=graph_inbox, **(graph_options or {}))
    from tc_calendar.providers.ews import EwsProvider

    return EwsProvider.from_settings(entry, metrics=metrics, **(ews_options or {}))


def build_providers(
    entries: Sequence[Any],
    *,
    workers: int | None = None,
    metrics: Metrics | None = None,
    graph_inbox: GraphInbox | None = None,
    ews_options: dict[str, Any] | None = None,
    graph_options: dict[str, Any] | None = None,
) -> list[CalendarProvider]:
    """The providers of ``entries``, in order; the EWS ones share ``workers`` worker processes for their reads
    (``None``: :func:`~tc_calendar.providers.workers.default_workers`; 0: none, reads in this process)."""
    from tc_calendar.providers.ews import endpoint_of
    from tc_calendar.providers.workers import default_workers, ews_with_workers

    workers = default_workers() if workers is None else workers
    ews_entries = [entry for entry in entries if provider_type(entry) != "graph"]

    def alone(entry: Any) -> CalendarProvider:
        return build_provider(
            entry, metrics=metrics, graph_inbox=graph_inbox, ews_options=ews_options, graph_options=graph_options
        )

    if not ews_entries or workers == 0:
        return [alone(entry) for entry in entries]
    endpoints = [endpoint_of(entry) for entry in ews_entries]
    shared = iter(ews_with_workers(endpoints, workers, metrics=metrics, options=ews_options))
    return [next(shared) if provider_type(entry) != "graph" else alone(entry) for entry in entries]
