"""Starts linked conferences when their occurrences begin (``launchConference: true``, seed 3.1.2).

The schedule is read from the store on every pass, never trusted from memory, so a reschedule simply moves the
start, a cancellation removes it, and a restart misses nothing (a start missed while down happens late,
within ``launch.graceMinutes``, and is recorded as late).

Starting on time. Everything slow is done before the start, so that at the start only ``POST .../run`` is left:

1. ``policy.lead`` (a minute) before the start a pass *arms* the occurrence: a task of its own resolves the
   attendees to TrueConf users, reads the conference and sets its scheduled list (:func:`prepare_conference`).
2. ``claim_ahead`` (two seconds, plus ``claim_ahead_per_start`` for every other occurrence starting in the same
   second) before the start the task looks once more: it reads the occurrence from the store again and claims the
   start. A preparation that failed ahead is done here.
3. At the start it writes down that it sends ``run``, then sends it. Occurrences starting at the same moment each
   have their own task, so they start concurrently; their claims, and their notes that ``run`` is sent, are written
   together, one transaction for all the tasks that reach that step in the same turn (:class:`Batch`).

A change seen before the start *withdraws* the armed task (passes compare what they read with what was
armed; a pass runs on every change this connector syncs): a rescheduled or changed occurrence is armed again
as it now is, a cancelled one never starts. A claim already taken is handed back: ``skipped`` for a
cancellation, ``released`` (with the reason) otherwise, which any node may claim again at once. Stopping the
connector hands back claims for starts not yet made in the same way.

Exactly once. The claim row is unique per occurrence, so of several passes, restarts or connector nodes
exactly one starts it; the claim is always made before ``run``. TrueConf errors are retried with back-off
(each retry does the whole launch again: every step is idempotent) within the grace period, then the launch
stays ``failed``. Every outcome is written to the change log, so subscribed clients see "conference
started/failed".

A start that may have been made is never made again. Just before ``run`` is sent, the claim's holder writes that
down (``run_sent_at``; an answer from TrueConf Server that it did not start takes it back). A connector killed with
``run`` in flight leaves its claim behind with that note; whoever takes the claim over (after ``STALE_CLAIM``) asks
TrueConf Server first: a running conference is recorded as started, a stopped one as ``skipped`` ("may have been
started"; it may have been started and stopped since), and ``run`` is not sent again. Without the note the claim's
holder stopped before sending ``run``, and the takeover starts the conference (late).

Never later than the grace period (``launch.graceMinutes``). A start not made by then (no connector ran, a claim
left behind, a handed-back claim nobody took, TrueConf errors until then) is recorded as ``skipped`` with a
``missed:`` reason instead of being made; passes look back ``missed_lookback`` beyond the grace period for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tc_calendar.addresses import MailboxAddress
from tc_calendar.backoff import BackoffPolicy
from tc_calendar.batching import Batch
from tc_calendar.clocks import WallClock, utc_now
from tc_calendar.metrics import Metrics
from tc_calendar.model import ChangeKind, Occurrence, OccurrenceKey
from tc_calendar.runtime import repeat
from tc_calendar.store import LaunchNotFoundError, Store
from tc_calendar.store.records import LaunchRecord, LaunchState
from tc_calendar.trueconf.errors import TrueConfError
from tc_calendar.trueconf.launch_plan import (
    LaunchAction,
    LaunchDecision,
    LaunchFailure,
    LaunchPolicy,
    SkipReason,
    decide_launch,
    failure_of,
)
from tc_calendar.trueconf.launcher import (
    ConferenceApi,
    LaunchOutcome,
    Preparation,
    launch_conference,
    prepare_conference,
    start_prepared,
)
from tc_calendar.trueconf.participants import ParticipantsMode, emails, people, plan_participants
from tc_calendar.trueconf.users import UserResolver

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]

#: A claim older than this that never finished belongs to a connector that stopped mid-start; take it over.
STALE_CLAIM = timedelta(minutes=2)
#: How long before the start the conference is prepared (attendees resolved, scheduled list set).
PREPARE_LEAD = timedelta(minutes=1)
#: How long before the start the preparation is checked once more and the start claimed.
CLAIM_AHEAD = timedelta(seconds=2)
#: How much earlier the last look and the claim happen for each other occurrence starting in the same second.
CLAIM_AHEAD_PER_START = timedelta(milliseconds=10)
#: Seconds a started conference's outcome waits to be written while other starts are still being sent.
RECORD_AFTER_STARTS = 1.0


def instance_name() -> str:
    """Who holds a claim: host and a per-process suffix, readable in ``tc_calendar status``."""
    return f"{socket.gethostname()}-{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True, slots=True)
class SchedulerOptions:
    policy: LaunchPolicy = field(default_factory=lambda: LaunchPolicy(lead=PREPARE_LEAD))
    """``policy.lead`` is how early an occurrence is prepared; its conference is started at its start."""
    mode: ParticipantsMode = ParticipantsMode.SCHEDULED
    lookahead: timedelta = timedelta(minutes=10)
    """How far ahead each pass reads the schedule; the pass sleeps until the earliest start it saw."""
    max_sleep: float = 30.0
    retry: BackoffPolicy = field(default_factory=lambda: BackoffPolicy(base=5.0, cap=120.0, jitter=0.2))
    claim_ahead: timedelta = CLAIM_AHEAD
    """How long before the start the last check and the claim happen: longer than they take."""
    claim_ahead_per_start: timedelta = CLAIM_AHEAD_PER_START
    """Added to ``claim_ahead`` for every other occurrence starting within the same second: each needs its last
    look, and they all happen before the start."""
    missed_lookback: timedelta = timedelta(hours=1)
    """How far beyond the grace period passes look back for starts nobody made, to record them as missed."""


def fingerprint(occurrence: Occurrence) -> tuple[object, ...]:
    """What a prepared launch depends on: when, whether, which conference, and who attends or declined."""
    attending, declined = people(occurrence)
    conference = occurrence.conference.conference_id if occurrence.conference else None
    return (occurrence.start, occurrence.end, occurrence.cancelled, occurrence.all_day, conference,
            tuple(MailboxAddress(p.email) for p in attending), tuple(MailboxAddress(p.email) for p in declined))


@dataclass(eq=False)
class _Armed:
    """One occurrence's launch task and what the scheduler knows about it."""

    occurrence: Occurrence
    withdrawn: str | None = None
    """Why the launch was called off before its start (set by a pass; the task hands back its claim)."""
    committed: bool = False
    """``run`` is being sent: too late to call off."""
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    shape: tuple[object, ...] = ()

    def __post_init__(self) -> None:
        self.shape = fingerprint(self.occurrence)


class LaunchScheduler:
    def __init__(
        self,
        store: Store,
        client: ConferenceApi,
        resolver: UserResolver,
        *,
        options: SchedulerOptions | None = None,
        owner: str | None = None,
        clock: WallClock = utc_now,
        sleep: Sleep = asyncio.sleep,
        metrics: Metrics | None = None,
    ) -> None:
        self._store = store
        self._client = client
        self._resolver = resolver
        self._options = options or SchedulerOptions()
        self._owner = owner or instance_name()
        self._clock = clock
        self._sleep = sleep
        self._metrics = metrics
        self._wake = asyncio.Event()
        self._armed: dict[OccurrenceKey, _Armed] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._pausing: dict[asyncio.Task[None] | None, datetime] = {}
        self._settled = asyncio.Event()
        self._starting = 0
        self._none_starting = asyncio.Event()
        self._past: set[OccurrenceKey] = set()
        """Occurrences past the grace period whose launch record this launcher has seen final (or made so)."""
        self._claims: Batch[tuple[OccurrenceKey, str, datetime], tuple[LaunchRecord, bool] | None] = Batch(
            self._claim_together, None
        )
        self._runs_sent: Batch[OccurrenceKey, bool] = Batch(self._note_runs_sent, False)
        self._last_looks: Batch[OccurrenceKey, Occurrence | None] = Batch(self._store.get_occurrences, None)

    def poke(self) -> None:
        """Something changed in the store (e.g. a reschedule): look at the schedule again now."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Pass over the schedule until ``stop`` is set; then :meth:`close`. A pass comes at once on :meth:`poke`
        (even one made during a pass), else when the last pass said; a failed pass is tried again after
        ``max_sleep``."""
        try:
            await repeat(self.run_once, what="the conference launcher's pass over the schedule", log=log,
                         interval=self._options.max_sleep, stop=stop, wake=self._wake)
        finally:
            await self.close()

    async def close(self) -> None:
        """Call off starts not yet made (handing back their claims, so another node or a restart takes them at
        once) and wait for starts in flight to finish."""
        for armed in self._armed.values():
            self._withdraw(armed, "the connector stopped before the start")
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def run_once(self) -> float:
        """One pass: arm what starts within ``policy.lead``, withdraw what changed; return seconds until the
        next occurrence to arm (at most ``max_sleep``)."""
        now = self._clock()
        options = self._options
        since = now - options.policy.grace - options.missed_lookback
        due = await self._store.launches_between(since, now + options.lookahead)
        self._past &= {occurrence.key for occurrence in due}
        records = await self._store.get_launches(
            [o.key for o in due if o.key not in self._armed and o.start - options.policy.lead <= now]
        )
        sleep = options.max_sleep
        for occurrence in due:
            armed = self._armed.get(occurrence.key)
            if armed is not None and armed.withdrawn is None:
                if armed.committed or armed.shape == fingerprint(occurrence):
                    continue
                self._withdraw(armed, _what_changed(armed.occurrence, occurrence))
            decision = decide_launch(occurrence, now, options.policy)
            if decision.action is LaunchAction.LATER and decision.at is not None:
                sleep = min(sleep, max(0.05, (decision.at - now).total_seconds()))
            elif decision.launch and (armed is not None or self._claimable_as(records.get(occurrence.key), occurrence,
                                                                              now)):
                self._arm(occurrence, previous=armed)
            elif decision.reason in (SkipReason.MISSED, SkipReason.ENDED) and armed is None:
                await self._record_missed(occurrence, decision, now)
        listed = {occurrence.key for occurrence in due}
        for key, armed in self._armed.items():
            if key not in listed:  # cancelled, deleted, or moved out of the window
                self._withdraw(armed, "it is no longer scheduled then")
        return sleep

    async def wait_idle(self) -> None:
        """For tests and shutdown: wait until every launch task is done or waiting for a time still to come."""
        while True:
            self._settled.clear()
            now = self._clock()
            if all(self._pausing.get(task, now) > now for task in self._tasks):
                return
            await self._settled.wait()

    # --- one occurrence ---------------------------------------------------------------------------------------

    def _arm(self, occurrence: Occurrence, previous: _Armed | None) -> None:
        armed = _Armed(occurrence)
        self._armed[occurrence.key] = armed
        task = asyncio.create_task(self._guarded(armed, previous), name=f"launch {occurrence.key.uid}")
        armed.task = task
        self._tasks.add(task)

        def finished(done: asyncio.Task[None]) -> None:
            self._tasks.discard(done)
            if self._armed.get(occurrence.key) is armed:
                del self._armed[occurrence.key]
            self._settled.set()

        task.add_done_callback(finished)

    def _withdraw(self, armed: _Armed, reason: str) -> None:
        if armed.committed or armed.withdrawn is not None:
            return
        log.info("conference start for %r at %s called off: %s", armed.occurrence.title,
                 armed.occurrence.start.isoformat(), reason)
        armed.withdrawn = reason
        armed.wake.set()
        self._pausing.pop(armed.task, None)  # busy again: it has a claim to hand back, or an end to reach

    async def _guarded(self, armed: _Armed, previous: _Armed | None) -> None:
        try:
            await self._launch(armed, previous)
        except Exception:  # a store hiccup: a later pass arms it again (a claim left behind goes stale)
            log.exception("launching the conference for %r failed; trying again later", armed.occurrence.title)

    async def _launch(self, armed: _Armed, previous: _Armed | None) -> None:
        """Prepare, look again and claim, start: the life of one armed occurrence."""
        occurrence = armed.occurrence
        if previous is not None and previous.task is not None:
            # The launch armed before the change hands back its claim first.
            await asyncio.gather(previous.task, return_exceptions=True)
            if armed.withdrawn or not await self._claimable(occurrence, self._clock()):
                return
        prepared: Preparation | None = None
        if self._clock() < occurrence.start - self._options.claim_ahead:
            prepared = await self._prepare(occurrence)
            # Counted after preparing: by then the pass has armed every occurrence starting with this one.
            await self._pause_until(armed, occurrence.start - self._claim_ahead(occurrence))
        if armed.withdrawn:
            return

        current = await self._last_looks.ask(occurrence.key)
        if current is None or fingerprint(current) != armed.shape:
            self.poke()  # changed since it was armed: a pass arms it as it is now
            return
        if not decide_launch(current, self._clock(), self._options.policy).launch:
            return
        if prepared is None:
            prepared = await self._prepare(current)
        if armed.withdrawn:
            return
        claimed = await self._claim(current, self._clock())
        if claimed is None:
            return

        await self._pause_until(armed, current.start)
        if armed.withdrawn:
            await self._release(armed)
            return
        armed.committed = True
        await self._start(current, prepared, claimed.run_sent_at)

    def _claim_ahead(self, occurrence: Occurrence) -> timedelta:
        """How long before its start ``occurrence`` is looked at once more and claimed: longer when many start
        with it, since all their last looks happen before the start."""
        together = sum(
            1 for armed in self._armed.values() if abs(armed.occurrence.start - occurrence.start) < timedelta(seconds=1)
        )
        return self._options.claim_ahead + self._options.claim_ahead_per_start * max(0, together - 1)

    async def _pause_until(self, armed: _Armed, at: datetime) -> None:
        """Sleep until ``at`` by the clock, or until the launch is withdrawn."""
        task = asyncio.current_task()
        while armed.withdrawn is None:
            delay = (at - self._clock()).total_seconds()
            if delay <= 0:
                return
            self._pausing[task] = at
            self._settled.set()
            sleeper = asyncio.ensure_future(self._sleep(delay))
            withdrawn = asyncio.ensure_future(armed.wake.wait())
            try:
                await asyncio.wait({sleeper, withdrawn}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                sleeper.cancel()
                withdrawn.cancel()
                self._pausing.pop(task, None)

    async def _prepare(self, occurrence: Occurrence) -> Preparation | None:
        """Resolve, read and set the scheduled list ahead of the start; None if that failed (then the whole
        launch is done at the start, where its error is recorded and retried)."""
        try:
            user_ids = await self._resolver.resolve(emails(occurrence))
            plan = plan_participants(occurrence, user_ids, self._options.mode)
            return await prepare_conference(self._client, occurrence, plan)
        except TrueConfError as exc:
            log.warning("could not prepare conference for %r ahead of its start (%s); trying again at the start",
                        occurrence.title, exc)
        except Exception:  # the launch at the start records what goes wrong
            log.exception("preparing conference for %r failed unexpectedly", occurrence.title)
        return None

    async def _start(self, occurrence: Occurrence, prepared: Preparation | None, run_sent_at: datetime | None) -> None:
        """Start the claimed occurrence. ``run_sent_at``: an earlier holder of the claim sent ``run`` then and no
        answer said it failed, so the conference may have been started: it is only read, never started again."""
        decision = decide_launch(occurrence, self._clock(), self._options.policy)
        late = decision.action is LaunchAction.LATE
        if not decision.launch:  # the last look took so long that the start is no longer wanted
            await self._finish(occurrence.key, LaunchState.SKIPPED, f"not started: {decision.reason}", late)
            return
        outcome: LaunchOutcome | None = None
        failure: LaunchFailure | None = None
        sent = False

        async def before_run() -> None:
            nonlocal sent
            if not await self._runs_sent.ask(occurrence.key):
                raise LaunchNotFoundError(
                    f"{self._owner} no longer holds the claim for {occurrence.key}: another connector took it over"
                )
            sent = True

        self._starting += 1
        self._none_starting.clear()
        try:
            if run_sent_at is not None:
                prepared = await self._prepare_or_raise(occurrence)
                if not prepared.running:
                    await self._maybe_started(occurrence, run_sent_at, late)
                    return
            if prepared is not None:
                outcome = await start_prepared(self._client, occurrence, prepared, before_run=before_run)
            else:
                user_ids = await self._resolver.resolve(emails(occurrence))
                plan = plan_participants(occurrence, user_ids, self._options.mode)
                outcome = await launch_conference(self._client, occurrence, plan, before_run=before_run)
        except LaunchNotFoundError as exc:  # taken over as stale while it was being started: the new holder's now
            log.warning("not starting conference for %r: %s", occurrence.title, exc)
            return
        except TrueConfError as exc:
            failure = failure_of(exc, sent)
        except Exception as exc:  # unexpected: record it rather than lose the launch silently
            log.exception("starting conference for %s failed unexpectedly", occurrence.key.uid)
            failure = failure_of(exc, sent)
        finally:
            self._starting -= 1
            if not self._starting:
                self._none_starting.set()
        # Writing the outcome takes the event loop for a while: let other conferences starting now go first.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._none_starting.wait(), RECORD_AFTER_STARTS)
        if failure is not None:
            await self._failed(occurrence, failure, late)
        elif outcome is not None:
            await self._started(occurrence, outcome, decision)

    async def _prepare_or_raise(self, occurrence: Occurrence) -> Preparation:
        """Read the conference and set its list now, raising what goes wrong (recorded as this attempt's error)."""
        user_ids = await self._resolver.resolve(emails(occurrence))
        plan = plan_participants(occurrence, user_ids, self._options.mode)
        return await prepare_conference(self._client, occurrence, plan)

    async def _maybe_started(self, occurrence: Occurrence, run_sent_at: datetime, late: bool) -> None:
        """``run`` was sent without an answer and the conference is not running: it may have been started and
        stopped since, or the request may never have arrived. Starting it again could start it twice."""
        reason = (f"not started again: a start was sent at {run_sent_at.isoformat()} and never answered, so it may "
                  "have been started (and stopped since); start it by hand if the meeting still needs it")
        if not await self._finish(occurrence.key, LaunchState.SKIPPED, reason, late):
            return
        log.warning("conference %s for %r is not running and was %s", _conference_id(occurrence), occurrence.title,
                    reason)
        if self._metrics is not None:
            self._metrics.launches.labels(outcome="uncertain").inc()

    # --- the claim ----------------------------------------------------------------------------------------------

    async def _claimable(self, occurrence: Occurrence, now: datetime) -> bool:
        return self._claimable_as(await self._store.get_launch(occurrence.key), occurrence, now)

    def _claimable_as(self, record: LaunchRecord | None, occurrence: Occurrence, now: datetime) -> bool:
        return record is None or self._may_claim(record, occurrence, now)

    def _may_claim(self, record: LaunchRecord, occurrence: Occurrence, now: datetime) -> bool:
        if now >= occurrence.end:
            return False
        if record.state is LaunchState.RELEASED:
            return True
        if record.state is LaunchState.FAILED:
            return self._retry_due(record, now)
        return record.state is LaunchState.CLAIMED and record.claimed_at < now - STALE_CLAIM

    async def _claim(self, occurrence: Occurrence, now: datetime) -> LaunchRecord | None:
        """Claim the start; the claim as taken (with ``run_sent_at`` of an earlier holder), None if not ours."""
        key = occurrence.key
        attempt = await self._claims.ask((key, _conference_id(occurrence), occurrence.start))
        if attempt is None:
            return None
        record, claimed = attempt
        if claimed:
            return record
        if not (self._may_claim(record, occurrence, now) and await self._take_over(occurrence, now)):
            return None
        # Read after taking it: a stale holder still alive can note ``run`` until the moment it lost the claim.
        return await self._store.get_launch(key)

    async def _claim_together(
        self, wanted: Sequence[tuple[OccurrenceKey, str, datetime]]
    ) -> dict[tuple[OccurrenceKey, str, datetime], tuple[LaunchRecord, bool] | None]:
        """The claims asked for at the same moment, in one transaction (:meth:`Store.claim_launches`)."""
        unique = list({item[0]: item for item in wanted}.values())
        found = await self._store.claim_launches(unique, self._owner)
        answers: dict[tuple[OccurrenceKey, str, datetime], tuple[LaunchRecord, bool] | None] = {}
        for item in unique:  # an occurrence asked for twice at once is claimed by one of the two only
            answers[item] = found.get(item[0])
        for item in wanted:
            got = found.get(item[0])
            answers.setdefault(item, None if got is None else (got[0], False))
        return answers

    async def _note_runs_sent(self, keys: Sequence[OccurrenceKey]) -> dict[OccurrenceKey, bool]:
        """Write down at once that ``run`` is sent for every claim that reached its start now."""
        marked = await self._store.mark_runs_sent(sorted(set(keys)), self._owner)
        return {key: key in marked for key in keys}

    async def _take_over(self, occurrence: Occurrence, now: datetime) -> bool:
        """Claim a failed or handed-back start again, or one whose holder stopped mid-start; one node wins."""
        return await self._store.retry_launch(
            occurrence.key, self._owner, occurrence.start, _conference_id(occurrence), stale_before=now - STALE_CLAIM
        )

    async def _record_missed(self, occurrence: Occurrence, decision: LaunchDecision, now: datetime) -> None:
        """Record a start nobody made within the grace period as ``skipped`` (``missed: ...``), once."""
        key = occurrence.key
        if key in self._past:
            return
        record = await self._store.get_launch(key)
        if record is None:
            taken = await self._store.claim_launch(key, _conference_id(occurrence), occurrence.start, self._owner)
        elif self._missable(record, now):
            taken = await self._take_over(occurrence, now)
        else:  # started, skipped or failed for good; or in progress on a connector still alive (look again later)
            if record.state is not LaunchState.CLAIMED:
                self._past.add(key)
            return
        claimed = await self._store.get_launch(key) if taken else None
        if claimed is None:
            return
        grace = int(self._options.policy.grace.total_seconds() // 60)
        reason = (f"missed: not started within launch.graceMinutes ({grace}) of its start"
                  + (" (the event had ended)" if decision.reason is SkipReason.ENDED else ""))
        if claimed.run_sent_at is not None:
            reason += f"; a start sent at {claimed.run_sent_at.isoformat()} was never answered and may have been made"
        elif record is not None and record.last_error:
            reason += f"; last: {record.last_error}"
        recorded = await self._finish(key, LaunchState.SKIPPED, reason, False)
        self._past.add(key)
        if not recorded:
            return
        log.warning("conference %s for %r (%s) %s", _conference_id(occurrence), occurrence.title,
                    occurrence.start.isoformat(), reason)
        if self._metrics is not None:
            self._metrics.launches.labels(outcome="missed").inc()

    def _missable(self, record: LaunchRecord, now: datetime) -> bool:
        """Whether a start past the grace period is still open: handed back, failed but not for good, or claimed by
        a connector that stopped."""
        if record.state is LaunchState.RELEASED:
            return True
        if record.state is LaunchState.FAILED:
            return not record.permanent
        return record.state is LaunchState.CLAIMED and record.claimed_at < now - STALE_CLAIM

    async def _release(self, armed: _Armed) -> None:
        """Hand back the claim of a start called off before it was made."""
        key = armed.occurrence.key
        current = await self._store.get_occurrence(key)
        state, reason = (
            (LaunchState.SKIPPED, "cancelled before its start")
            if current is None or current.cancelled
            else (LaunchState.RELEASED, armed.withdrawn or "called off before its start")
        )
        try:
            await self._store.release_launch(key, self._owner, state, reason)
        except LaunchNotFoundError as exc:  # taken over as stale meanwhile: the claim is no longer ours to give
            log.warning("could not hand back the claim for %r: %s", armed.occurrence.title, exc)
        self.poke()

    def _retry_due(self, record: LaunchRecord, now: datetime) -> bool:
        if record.permanent:
            return False
        finished = record.finished_at or record.claimed_at
        return now >= finished + timedelta(seconds=self._options.retry.delay(record.attempts))

    # --- outcomes -----------------------------------------------------------------------------------------------

    async def _finish(
        self,
        key: OccurrenceKey,
        state: LaunchState,
        error: str | None,
        late: bool,
        *,
        run_refused: bool = False,
        permanent: bool = False,
    ) -> bool:
        """Record how this connector's attempt ended; False if another connector took the claim over meanwhile
        (a slow attempt past the stale-claim time): the outcome is then that connector's to record and report."""
        try:
            await self._store.finish_launch(
                key, state, error, late, run_refused=run_refused, permanent=permanent, owner=self._owner
            )
        except LaunchNotFoundError as exc:
            log.warning("the outcome of this attempt (%s) is not recorded: %s", state.value, exc)
            return False
        return True

    async def _started(self, occurrence: Occurrence, outcome: LaunchOutcome, decision: LaunchDecision) -> None:
        late = decision.action is LaunchAction.LATE
        if not await self._finish(occurrence.key, LaunchState.STARTED, None, late):
            return
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

    async def _failed(self, occurrence: Occurrence, failure: LaunchFailure, late: bool) -> None:
        if not await self._finish(occurrence.key, LaunchState.FAILED, failure.error, late,
                                  run_refused=failure.run_refused, permanent=failure.permanent):
            return
        error = failure.shown
        retrying = not failure.permanent and decide_launch(occurrence, self._clock(), self._options.policy).launch
        log.warning("could not start conference for %r: %s%s", occurrence.title, error,
                    "" if retrying else "; giving up")
        if not retrying:
            payload: dict[str, object] = {"conferenceId": _conference_id(occurrence), "error": error}
            await self._record(occurrence, ChangeKind.CONFERENCE_FAILED, payload, "failed")
        elif self._metrics is not None:
            self._metrics.launches.labels(outcome="retrying").inc()

    async def _record(self, occurrence: Occurrence, kind: ChangeKind, payload: dict[str, object], outcome: str) -> None:
        if self._metrics is not None:
            self._metrics.launches.labels(outcome=outcome).inc()
        # Who declined is out of the meeting (Exchange removed it from their calendar): not told.
        attending, _ = people(occurrence)
        for person in attending:
            await self._store.append_change(kind, MailboxAddress(person.email), occurrence.key, payload)


def _conference_id(occurrence: Occurrence) -> str:
    if occurrence.conference is None:  # the store lists only occurrences with a link
        raise ValueError(f"occurrence {occurrence.key.uid} has no conference link")
    return occurrence.conference.conference_id


def _what_changed(before: Occurrence, now: Occurrence) -> str:
    if now.start != before.start:
        return f"rescheduled to {now.start.isoformat()}"
    return "the event changed"
