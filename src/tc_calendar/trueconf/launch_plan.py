"""When to start an occurrence's conference (pure: occurrence, now and policy in; a decision out).

The scheduler asks :func:`decide_launch` for every occurrence near its start; it acts on ``NOW`` and
``LATE`` (claiming the occurrence in the store first, so the start happens once), sleeps until ``at`` on
``LATER`` and forgets the occurrence on ``NEVER``. ``LATE`` is a start we missed by more than
``on_time`` but within the grace period (``launch.graceMinutes``), e.g. after a restart: we still start,
and record how late. Beyond the grace period, or once the event has ended, starting would surprise people
more than help them, so we skip it.

When an attempt fails, :func:`failure_of` says what that means for the next one (:class:`LaunchFailure`): most
failures are retried after a back-off within the grace period; a conference that does not exist never is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from tc_calendar.model import Occurrence
from tc_calendar.trueconf.errors import ConferenceNotFoundError, TrueConfError, TrueConfUnavailableError

DEFAULT_ON_TIME = timedelta(minutes=1)


class LaunchAction(StrEnum):
    NOW = "now"
    LATER = "later"
    LATE = "late"
    NEVER = "never"


class SkipReason(StrEnum):
    CANCELLED = "cancelled"
    NO_CONFERENCE = "no_conference"
    ENDED = "ended"
    MISSED = "missed"
    """The start passed longer ago than the grace period."""
    ALL_DAY = "all_day"
    """All-day events have no start time of day (their dates are kept at midnight UTC), so by default they
    are not started; ``LaunchPolicy.all_day`` turns this on."""


@dataclass(frozen=True, slots=True)
class LaunchDecision:
    """What to do about one occurrence now; ``at`` is when to ask again (LATER) and ``lateness`` how late."""

    action: LaunchAction
    at: datetime | None = None
    lateness: timedelta = timedelta(0)
    reason: SkipReason | None = None

    @property
    def launch(self) -> bool:
        """Whether to start the conference now (on time or late)."""
        return self.action in (LaunchAction.NOW, LaunchAction.LATE)


@dataclass(frozen=True, slots=True)
class LaunchPolicy:
    """``grace``: how late a start may still happen; ``lead``: how early before the start to begin (the
    scheduler prepares then, and sends ``run`` at the start itself);
    ``on_time``: lateness still reported as on time (scheduler jitter); ``all_day``: start all-day events too."""

    grace: timedelta = timedelta(minutes=15)
    lead: timedelta = timedelta(0)
    on_time: timedelta = DEFAULT_ON_TIME
    all_day: bool = False


def decide_launch(occurrence: Occurrence, now: datetime, policy: LaunchPolicy | None = None) -> LaunchDecision:
    """Decide for ``occurrence`` at ``now`` (timezone-aware)."""
    policy = policy or LaunchPolicy()
    if occurrence.cancelled:
        return LaunchDecision(LaunchAction.NEVER, reason=SkipReason.CANCELLED)
    if occurrence.conference is None:
        return LaunchDecision(LaunchAction.NEVER, reason=SkipReason.NO_CONFERENCE)
    if occurrence.all_day and not policy.all_day:
        return LaunchDecision(LaunchAction.NEVER, reason=SkipReason.ALL_DAY)
    begin = occurrence.start - policy.lead
    if now < begin:
        return LaunchDecision(LaunchAction.LATER, at=begin)
    if now >= occurrence.end > occurrence.start:
        return LaunchDecision(LaunchAction.NEVER, lateness=now - occurrence.start, reason=SkipReason.ENDED)
    lateness = max(now - occurrence.start, timedelta(0))
    if lateness <= policy.on_time:
        return LaunchDecision(LaunchAction.NOW, lateness=lateness)
    if lateness <= policy.grace:
        return LaunchDecision(LaunchAction.LATE, lateness=lateness)
    return LaunchDecision(LaunchAction.NEVER, lateness=lateness, reason=SkipReason.MISSED)


@dataclass(frozen=True, slots=True)
class LaunchFailure:
    """How one attempt to start a conference failed, and what that means for the next attempt."""

    error: str
    """What went wrong, as shown to administrators and in the ``conference failed`` change."""
    permanent: bool = False
    """Trying again cannot help (the linked conference does not exist): the launch stays ``failed``."""
    run_refused: bool = False
    """TrueConf Server answered the ``run`` of this attempt that it did not start the conference, so that ``run``
    is known not to have started it."""

    @property
    def shown(self) -> str:
        """The error as administrators and clients see it: a permanent one says so."""
        return f"permanent: {self.error}" if self.permanent else self.error


def failure_of(exc: Exception, run_sent: bool) -> LaunchFailure:
    """Classify what an attempt raised; ``run_sent``: the attempt had sent ``run`` when it failed."""
    if isinstance(exc, ConferenceNotFoundError):
        return LaunchFailure(str(exc), permanent=True, run_refused=run_sent)
    if isinstance(exc, TrueConfError):
        maybe_started = isinstance(exc, TrueConfUnavailableError) and exc.maybe_done
        return LaunchFailure(str(exc), run_refused=run_sent and not maybe_started)
    return LaunchFailure(f"{type(exc).__name__}: {exc}")  # unexpected: recorded rather than lost silently
