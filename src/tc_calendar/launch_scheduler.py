"""Starts linked conferences when their occurrences begin (``launchConference: true``, seed 3.1.2).

The schedule is read from the store on every pass, never kept in memory, so a reschedule simply moves the
start, a cancellation removes it, and a restart misses nothing (a start missed while down happens late,
within ``launch.graceMinutes``, and is recorded as late). Each start is claimed in the store before TrueConf
Server is called: the claim row is unique per occurrence, so of several passes, restarts or connector nodes
exactly one starts it. TrueConf errors are retried with back-off until the event ends, then the launch stays
``failed``. Every outcome is written to the change log, so subscribed clients see "conference started/failed".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from tc_calendar.engine.backoff import BackoffPolicy
from tc_calendar.metrics import Metrics
from tc_calendar.model import ChangeKind, Occurrence
from tc_calendar.store import Store
from tc_calendar.store.records import LaunchRecord, LaunchState
from tc_calendar.trueconf.errors import ConferenceNotFoundError, TrueConfError
from tc_calendar.trueconf.launch_plan import LaunchAction, LaunchDecision, LaunchPolicy, decide_launch
from tc_calendar.trueconf.launcher import ConferenceApi, LaunchOutcome, launch_conference
from tc_calendar.trueconf.participants import ParticipantsMode, emails, plan_participants
from tc_calendar.trueconf.users import UserResolver

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

#: A claim older than this that never finished belongs to a connector that stopped mid-start; take it over.
STALE_CLAIM = timedelta(minutes=2)


def instance_name() -> str:
    """Who holds a claim: host and a per-process suffix, readable in ``tc_calendar status``."""
    return f"{socket.gethostname()}-{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True, slots=True)
class SchedulerOptions:
    policy: LaunchPolicy = field(default_factory=LaunchPolicy)
    mode: ParticipantsMode = ParticipantsMode.SCHEDULED
    lookahead: timedelta = timedelta(minutes=10)
    """How far ahead each pass reads the schedule; the pass sleeps until the earliest start it saw."""
    max_sleep: float = 30.0
    retry: BackoffPolicy = field(default_factory=lambda: BackoffPolicy(base=5.0, cap=120.0, jitter=0.2))


class LaunchScheduler:
    def __init__(
        self,
        store: Store,
        client: ConferenceApi,
        resolver: UserResolver,
        *,
        options: SchedulerOptions | None = None,
        owner: str | None = None,
        clock: Clock = lambda: datetime.now(UTC),
        metrics: Metrics | None = None,
    ) -> None:
        self._store = store
        self._client = client
        self._resolver = resolver
        self._options = options or SchedulerOptions()
        self._owner = owner or instance_name()
        self._clock = clock
        self._metrics = metrics
        self._wake = asyncio.Event()
        self._attempts: set[asyncio.Task[None]] = set()

    def poke(self) -> None:
        """Something changed in the store (e.g. a reschedule): look at the schedule again now."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Pass over the schedule until ``stop`` is set; in-flight starts finish before returning."""
        try:
            while not stop.is_set():
                try:
                    sleep = await self.run_once()
                except Exception:  # a store hiccup must not end the launcher; the next pass retries
                    log.exception("conference launcher pass failed; retrying")
                    sleep = self._options.max_sleep
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    waiter = asyncio.ensure_future(self._wake.wait())
                    stopper = asyncio.ensure_future(stop.wait())
                    try:
                        await asyncio.wait({waiter, stopper}, timeout=sleep, return_when=asyncio.FIRST_COMPLETED)
                    finally:
                        waiter.cancel()
                        stopper.cancel()
        finally:
            if self._attempts:
                await asyncio.gather(*self._attempts, return_exceptions=True)

    async def run_once(self) -> float:
        """One pass: start what is due; return seconds until the next known start (at most ``max_sleep``)."""
        now = self._clock()
        options = self._options
        due = await self._store.launches_between(now - options.policy.grace, now + options.lookahead)
        sleep = options.max_sleep
        for occurrence in due:
            decision = decide_launch(occurrence, now, options.policy)
            if decision.action is LaunchAction.LATER and decision.at is not None:
                sleep = min(sleep, max(0.05, (decision.at - now).total_seconds()))
            if decision.launch and await self._claim(occurrence, now):
                task = asyncio.create_task(self._attempt(occurrence, decision), name="launch")
                self._attempts.add(task)
                task.add_done_callback(self._attempts.discard)
        return sleep

    async def wait_idle(self) -> None:
        """For tests and shutdown: wait until no start is in flight."""
        while self._attempts:
            await asyncio.gather(*list(self._attempts), return_exceptions=True)

    async def _claim(self, occurrence: Occurrence, now: datetime) -> bool:
        assert occurrence.conference is not None
        key = occurrence.key
        record = await self._store.get_launch(key)
        if record is None:
            return await self._store.claim_launch(key, occurrence.conference.conference_id, occurrence.start,
                                                  self._owner)
        if record.state is LaunchState.FAILED and self._retry_due(record, now) and now < occurrence.end:
            return await self._store.retry_launch(key, self._owner)
        if record.state is LaunchState.CLAIMED and record.claimed_at < now - STALE_CLAIM and now < occurrence.end:
            # The claimer stopped mid-start. Starting is idempotent (run unless running), so taking over is safe.
            await self._store.finish_launch(key, LaunchState.FAILED, "interrupted: the connector stopped", False)
            return await self._store.retry_launch(key, self._owner)
        return False

    def _retry_due(self, record: LaunchRecord, now: datetime) -> bool:
        if record.last_error and record.last_error.startswith("permanent:"):
            return False
        finished = record.finished_at or record.claimed_at
        return now >= finished + timedelta(seconds=self._options.retry.delay(record.attempts))

    async def _attempt(self, occurrence: Occurrence, decision: LaunchDecision) -> None:
        key = occurrence.key
        late = decision.action is LaunchAction.LATE
        try:
            user_ids = await self._resolver.resolve(emails(occurrence))
            plan = plan_participants(occurrence, user_ids, self._options.mode)
            outcome = await launch_conference(self._client, occurrence, plan)
        except ConferenceNotFoundError as exc:
            await self._failed(occurrence, f"permanent: {exc}", late)
        except TrueConfError as exc:
            await self._failed(occurrence, str(exc), late)
        except Exception as exc:  # unexpected: record it rather than lose the launch silently
            log.exception("starting conference for %s failed unexpectedly", key.uid)
            await self._failed(occurrence, f"{type(exc).__name__}: {exc}", late)
        else:
            await self._started(occurrence, outcome, decision)

    async def _started(self, occurrence: Occurrence, outcome: LaunchOutcome, decision: LaunchDecision) -> None:
        late = decision.action is LaunchAction.LATE
        await self._store.finish_launch(occurrence.key, LaunchState.STARTED, None, late)
        lateness = int(decision.lateness.total_seconds())
        log.info(
            "started conference %s for %r (%s%s; invited %d, removed %d, without TrueConf account %d)",
            outcome.conference_id, occurrence.title, f"late by {lateness}s" if late else "on time",
            "" if outcome.started else ", it was already running", len(outcome.added), len(outcome.removed),
            len(outcome.unmapped),
        )
        payload: dict[str, object] = {
            "conferenceId": outcome.conference_id,
            "late": late,
            "latenessSeconds": lateness,
            "alreadyRunning": not outcome.started,
        }
        await self._record(occurrence, ChangeKind.CONFERENCE_STARTED, payload, "started")

    async def _failed(self, occurrence: Occurrence, error: str, late: bool) -> None:
        await self._store.finish_launch(occurrence.key, LaunchState.FAILED, error, late)
        retrying = not error.startswith("permanent:") and self._clock() < occurrence.end
        log.warning("could not start conference for %r: %s%s", occurrence.title, error,
                    "" if retrying else "; giving up")
        if not retrying:
            assert occurrence.conference is not None
            payload: dict[str, object] = {"conferenceId": occurrence.conference.conference_id, "error": error}
            await self._record(occurrence, ChangeKind.CONFERENCE_FAILED, payload, "failed")
        elif self._metrics is not None:
            self._metrics.launches.labels(outcome="retrying").inc()

    async def _record(self, occurrence: Occurrence, kind: ChangeKind, payload: dict[str, object], outcome: str) -> None:
        if self._metrics is not None:
            self._metrics.launches.labels(outcome=outcome).inc()
        for user in emails(occurrence):
            await self._store.append_change(kind, user, occurrence.key, payload)
