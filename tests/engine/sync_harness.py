"""A SyncService wired to the Exchange simulator (through exchangelib over a socket) and to the real store."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ews_sim.server import EwsSimulator
from tc_calendar.backoff import BackoffPolicy
from tc_calendar.engine.planner import DiffPlanner
from tc_calendar.engine.runner import SyncOptions
from tc_calendar.engine.service import SyncService
from tc_calendar.metrics import Metrics
from tc_calendar.model import Change, Occurrence, Response
from tc_calendar.providers._ews_session import EndpointSettings
from tc_calendar.providers.ews import EwsProvider
from tc_calendar.store import MailboxState, Store
from waiting import eventually

FAST = SyncOptions(
    auto_sync=True,
    backward_months=2,
    forward_months=2,
    poll_interval=600.0,
    fallback_poll_interval=0.5,
    transient_retry=BackoffPolicy(base=0.05, cap=0.3),
    error_retry=BackoffPolicy(base=0.1, cap=0.3),
    notification_retry=BackoffPolicy(base=0.2, cap=2.0),
)


@dataclass(frozen=True)
class Seen:
    """One occurrence as a user sees it, reduced to what the assertions compare."""

    title: str
    start: datetime
    end: datetime
    my_response: Response
    organizer: str | None
    attendees: tuple[tuple[str, str, str], ...]
    all_day: bool
    cancelled: bool

    @classmethod
    def of(cls, occurrence: Occurrence, response: Response) -> Seen:
        return cls(
            occurrence.display_title,
            occurrence.start,
            occurrence.end,
            response,
            occurrence.organizer.email if occurrence.organizer else None,
            tuple((a.email, a.role.value, a.response.value) for a in occurrence.attendees),
            occurrence.all_day,
            occurrence.cancelled,
        )


class SyncHarness:
    def __init__(self, sim: EwsSimulator, store: Store, credentials: Sequence[tuple[str, str]]) -> None:
        self.sim = sim
        self.world = sim.world
        self.store = store
        self.credentials = list(credentials)
        self.notified: list[Change] = []
        self.metrics = Metrics()
        self.service: SyncService | None = None
        self.provider: EwsProvider | None = None

    def build(
        self,
        users: Sequence[str],
        *,
        options: SyncOptions = FAST,
        limit: int | None = None,
        streaming_minutes: int = 1,
        clock: Callable[[], datetime] | None = None,
        max_concurrency: int = 10,
    ) -> SyncService:
        endpoint = EndpointSettings(
            self.sim.url, auth="basic", timeout_seconds=10, server_version="Exchange2016",
            max_concurrency=max_concurrency,
        )
        self.provider = EwsProvider(
            endpoint, self.credentials, metrics=self.metrics, streaming_minutes=streaming_minutes,
            stream_retry_seconds=0.05,
        )

        def notify(changes: Sequence[Change]) -> None:
            self.notified.extend(changes)

        self.service = SyncService(
            self.store,
            [self.provider],
            [list(users)],
            planner=DiffPlanner(),
            options=options,
            account_limit=limit,
            notify=notify,
            metrics=self.metrics,
            **({"clock": clock} if clock is not None else {}),
        )
        return self.service

    async def start(self, users: Sequence[str], **kwargs: object) -> SyncService:
        service = self.build(users, **kwargs)  # type: ignore[arg-type]
        await service.start()
        await service.wait_synced(within=20)
        return service

    async def stop(self) -> None:
        if self.service is not None:
            await self.service.stop(grace_seconds=5)
            self.service = None

    async def view(self, user: str, days: int = 120) -> list[Seen]:
        now = datetime.now(UTC)
        found = await self.store.load_view(user, now - timedelta(days=days), now + timedelta(days=days))
        return [Seen.of(occurrence, response) for occurrence, response in found]

    async def titles(self, user: str) -> list[str]:
        return [seen.title for seen in await self.view(user)]

    async def state(self, user: str) -> tuple[MailboxState | None, str | None]:
        status = await self.store.get_mailbox(user)
        return (None, None) if status is None else (status.state, status.last_error)

    async def streaming(self, users: Sequence[str], within: float = 30.0) -> None:
        """Wait until every one of ``users`` is subscribed, the stream is open, and the syncs that subscribing
        triggered are done (no EWS request for a moment), so a change made next arrives by notification and a fault
        injected next meets the sync of that change, not the start-up's own requests."""
        assert self.service is not None
        service = self.service
        wanted = {user.lower() for user in users}

        async def subscribed() -> bool:
            live = {runtime.status.email for runtime in await service.status() if runtime.streaming}
            return wanted <= live and self.requests("GetStreamingEvents", "started") >= 1

        await eventually(subscribed, within=within, what=f"streaming subscriptions for {sorted(wanted)}")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        before = self._all_requests()
        while loop.time() < deadline:
            await asyncio.sleep(0.3)
            now = self._all_requests()
            if now == before:
                return
            before = now
        raise AssertionError(f"EWS requests did not settle within {within}s")

    def _all_requests(self) -> float:
        return sum(
            sample.value
            for metric in self.metrics.registry.collect()
            if metric.name == "tc_calendar_ews_requests"
            for sample in metric.samples
            if sample.name == "tc_calendar_ews_requests_total"
        )

    def requests(self, operation: str, result: str = "ok") -> float:
        value = self.metrics.registry.get_sample_value(
            "tc_calendar_ews_requests_total", {"operation": operation, "result": result}
        )
        return value or 0.0
