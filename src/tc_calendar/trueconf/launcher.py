"""Starting one occurrence's conference on TrueConf Server (the "act" half; the decision is in launch_plan).

:func:`launch_conference` reads the conference, applies the participant plan and starts the conference
unless it already runs. Every step is idempotent, so when it raises :class:`TrueConfUnavailableError` the
caller simply calls it again later (under the same exactly-once claim): an invitation already added or
already removed, or a conference already running, is success. The order follows the mode: in scheduled
mode the list is set *before* the start, so TrueConf's auto-invite calls the right people; in temporal mode
people are called *after* the start, since only a running conference can take them.

It comes in two halves so that the scheduler can do the slow part ahead of time: :func:`prepare_conference`
(read the conference, set the scheduled list) before the start, :func:`start_prepared` (``run``, then calling
people in) at the start. :func:`launch_conference` is both at once.

A single attendee the server refuses (e.g. an account deleted since the directory was read) does not stop
the start; it is reported in :attr:`LaunchOutcome.refused`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from tc_calendar.model import Occurrence
from tc_calendar.trueconf.errors import (
    ConferenceNotFoundError,
    TrueConfAuthError,
    TrueConfError,
    TrueConfRequestError,
)
from tc_calendar.trueconf.models import Conference, Invitation
from tc_calendar.trueconf.participants import (
    ParticipantPlan,
    ParticipantsMode,
    emails,
    invitation_changes,
    plan_participants,
)

ALREADY_INVITED = "uniqueValueAlreadyInUse"

_T = TypeVar("_T")
BeforeRun = Callable[[], Awaitable[None]]

log = logging.getLogger(__name__)


class ConferenceApi(Protocol):
    """The client operations a launch uses (:class:`~tc_calendar.trueconf.client.TrueConfClient` has them)."""

    async def get_conference(self, cid: str) -> Conference: ...
    async def run_conference(self, cid: str) -> str: ...
    async def list_invitations(self, cid: str) -> list[Invitation]: ...
    async def add_invitation(self, cid: str, user_id: str, display_name: str | None = None) -> Invitation: ...
    async def remove_invitation(self, cid: str, inv_id: str) -> None: ...
    async def invite_now(self, cid: str, user_ids: tuple[str, ...]) -> None: ...


@dataclass(frozen=True, slots=True)
class LaunchOutcome:
    """What a launch did, for the launch record, the change log and the log."""

    conference_id: str
    started: bool
    """False when the conference was already running (someone started it by hand, or a retry)."""
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    called: tuple[str, ...] = ()
    """Users called into the running conference (temporal mode)."""
    refused: tuple[tuple[str, str], ...] = ()
    """(user ID, the server's message) for people the server would not invite."""
    unmapped: tuple[str, ...] = ()
    """E-mails of attendees without a TrueConf account."""


    def as_payload(self) -> dict[str, object]:
        """JSON-ready form for the launch record and the ``conference_started`` change-log entry."""
        return {"conferenceId": self.conference_id, "started": self.started, "added": list(self.added),
                "removed": list(self.removed), "called": list(self.called),
                "refused": [{"user": user, "error": error} for user, error in self.refused],
                "unmapped": list(self.unmapped)}


class NoConferenceLinkError(TrueConfError):
    """The occurrence has no conference link; the launch decision should have said NEVER."""


async def launch_conference(client: ConferenceApi, occurrence: Occurrence, plan: ParticipantPlan, *,
                            before_run: BeforeRun | None = None) -> LaunchOutcome:
    """Set participants per ``plan`` and start the occurrence's conference unless it already runs.

    Raises :class:`ConferenceNotFoundError` (give up, tell the organizer), :class:`TrueConfAuthError` (tell the
    administrator) or :class:`TrueConfUnavailableError` (retry later). ``before_run`` as in :func:`start_prepared`.
    """
    preparation = await prepare_conference(client, occurrence, plan)
    return await start_prepared(client, occurrence, preparation, before_run=before_run)


@dataclass(frozen=True, slots=True)
class Preparation:
    """Everything of a launch that can be done before the start: what :func:`prepare_conference` found and did.

    The scheduler prepares ahead of the start, so that at the start only ``run`` (and, in temporal mode,
    calling people in) remains: :func:`start_prepared`.
    """

    conference_id: str
    plan: ParticipantPlan
    running: bool
    """Whether the conference was already running when it was read."""
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    refused: tuple[tuple[str, str], ...] = ()

    def then(self, later: Preparation) -> Preparation:
        """This preparation checked again by ``later``: the later state, with the edits both made."""
        return Preparation(later.conference_id, later.plan, later.running,
                           _union(self.added, later.added), _union(self.removed, later.removed),
                           _union(self.refused, later.refused))


async def prepare_conference(client: ConferenceApi, occurrence: Occurrence, plan: ParticipantPlan) -> Preparation:
    """Read the conference and, in scheduled mode, bring its scheduled list in line with ``plan``.

    Idempotent, so it may run well before the start and once more just before it (a second run finds nothing
    to change unless the event or the list changed meanwhile). Raises as :func:`launch_conference`.
    """
    if occurrence.conference is None:
        raise NoConferenceLinkError(f"occurrence {occurrence.key.uid} has no TrueConf conference link")
    cid = occurrence.conference.conference_id
    conference = await client.get_conference(cid)
    refused: list[tuple[str, str]] = []
    added: list[str] = []
    removed: list[str] = []

    if plan.mode is ParticipantsMode.SCHEDULED:
        # The list is read on its own: not every API version embeds it in the conference object.
        changes = invitation_changes(plan, await client.list_invitations(cid))
    else:
        changes = invitation_changes(plan, ())
    for user_id in changes.add:
        if await _tolerant(refused, user_id, client.add_invitation(cid, user_id), ok_reason=ALREADY_INVITED):
            added.append(user_id)
    for inv_id in changes.remove:
        if await _tolerant(refused, inv_id, client.remove_invitation(cid, inv_id), ok_status=404):
            removed.append(inv_id)
    return Preparation(cid, plan, conference.running, tuple(added), tuple(removed), tuple(refused))


async def start_prepared(client: ConferenceApi, occurrence: Occurrence, preparation: Preparation, *,
                         before_run: BeforeRun | None = None) -> LaunchOutcome:
    """Start a prepared conference unless it was running; in temporal mode then call the attendees in.

    ``before_run`` is awaited just before ``run`` is sent (and only then): the scheduler writes down there that a
    start may be on its way, and may stop it by raising.
    """
    cid, plan = preparation.conference_id, preparation.plan
    refused = list(preparation.refused)
    started = False
    if not preparation.running:
        if before_run is not None:
            await before_run()
        await client.run_conference(cid)
        started = True

    called: tuple[str, ...] = ()
    if plan.mode is ParticipantsMode.TEMPORAL and plan.invite:
        try:
            await client.invite_now(cid, plan.invite)
            called = plan.invite
        except (TrueConfAuthError, ConferenceNotFoundError):
            raise
        except TrueConfRequestError:
            called = await _call_one_by_one(client, cid, plan.invite, refused)

    outcome = LaunchOutcome(cid, started, preparation.added, preparation.removed, called, tuple(refused),
                            plan.unmapped)
    _log(occurrence, outcome)
    return outcome


def _union(first: tuple[_T, ...], second: tuple[_T, ...]) -> tuple[_T, ...]:
    return first + tuple(item for item in second if item not in first)


def _log(occurrence: Occurrence, outcome: LaunchOutcome) -> None:
    log.info("conference %s for %r (%s): %s; invitations added %s, removed %s; called %s",
             outcome.conference_id, occurrence.title, occurrence.start.isoformat(),
             "started" if outcome.started else "already running", list(outcome.added), list(outcome.removed),
             list(outcome.called))
    for user, error in outcome.refused:
        log.warning("conference %s: could not invite %s: %s", outcome.conference_id, user, error)
    if outcome.unmapped:
        log.info("conference %s: no TrueConf account for %s (add them to trueconf.userMap if they have one)",
                 outcome.conference_id, ", ".join(outcome.unmapped))


async def _call_one_by_one(client: ConferenceApi, cid: str, user_ids: tuple[str, ...],
                           refused: list[tuple[str, str]]) -> tuple[str, ...]:
    """One refused user makes v4's batch invite fail; retry each alone so the others are still called."""
    called = []
    for user_id in user_ids:
        if await _tolerant(refused, user_id, client.invite_now(cid, (user_id,))):
            called.append(user_id)
    return tuple(called)


async def _tolerant(refused: list[tuple[str, str]], user_id: str, step: Awaitable[object], *,
                    ok_reason: str | None = None, ok_status: int | None = None) -> bool:
    """Await ``step``; a per-user refusal is recorded instead of raised. True if the step took effect."""
    try:
        await step
        return True
    except (TrueConfAuthError, ConferenceNotFoundError):
        raise
    except TrueConfRequestError as exc:
        if (ok_reason is not None and exc.reason == ok_reason) or (ok_status is not None and exc.status == ok_status):
            return False
        refused.append((user_id, str(exc)))
        return False


class EmailResolver(Protocol):
    """E-mails to TrueConf IDs (:class:`~tc_calendar.trueconf.users.UserResolver`)."""

    async def resolve(self, emails: Iterable[str]) -> dict[str, str]: ...


@dataclass(frozen=True, slots=True)
class ConferenceLauncher:
    """Everything needed to start one occurrence's conference, wired once from the configuration.

    The scheduler calls :meth:`launch` after :func:`~tc_calendar.trueconf.launch_plan.decide_launch` said
    so and the store granted the claim.
    """

    client: ConferenceApi
    resolver: EmailResolver
    mode: ParticipantsMode

    async def launch(self, occurrence: Occurrence) -> LaunchOutcome:
        user_ids = await self.resolver.resolve(emails(occurrence))
        return await launch_conference(self.client, occurrence, plan_participants(occurrence, user_ids, self.mode))
