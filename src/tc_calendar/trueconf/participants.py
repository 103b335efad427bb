"""Who should be in a conference when its event starts (pure: an occurrence and a user mapping in, a plan out).

``temporalConfParticipantsMode`` (seed 3.1.2) chooses between two ways of putting attendees into the
conference; in both, "attendees" means the organizer plus everyone who has not declined (accepted,
tentative and not yet answered all count), mapped from e-mail to TrueConf ID:

* ``false`` - :attr:`ParticipantsMode.SCHEDULED`: the conference's *scheduled participant list*
  (its invitations) is brought in line with the event before the start: missing attendees are added, and
  invitations of attendees who declined are removed. Invitations of people who are not in the event at all
  are left alone (someone added them on TrueConf Server on purpose), and the conference owner's invitation is
  never removed. The change persists on the conference, as in the original product.
* ``true`` - :attr:`ParticipantsMode.TEMPORAL`: the scheduled list is not touched; once the conference is
  running the attendees are called into it for this occurrence only (v4 ``POST /conferences/{id}/invite``,
  v3 ``POST /conferences/{id}/participants``). Suits a permanent conference reused by many different events.

Attendees with no TrueConf account cannot be invited; they are reported in :attr:`ParticipantPlan.unmapped`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from tc_calendar.addresses import MailboxAddress
from tc_calendar.model import Attendee, Occurrence, Response, Role
from tc_calendar.trueconf.models import Invitation


class ParticipantsMode(StrEnum):
    """How attendees are put into the conference (``temporalConfParticipantsMode`` false / true)."""

    SCHEDULED = "scheduled"
    TEMPORAL = "temporal"

    @classmethod
    def from_config(cls, temporal_conf_participants_mode: bool) -> ParticipantsMode:
        return cls.TEMPORAL if temporal_conf_participants_mode else cls.SCHEDULED


@dataclass(frozen=True, slots=True)
class ParticipantPlan:
    """The TrueConf IDs to have in the conference and to take off its scheduled list."""

    mode: ParticipantsMode
    invite: tuple[str, ...]
    """Organizer first, then attendees who have not declined, in event order, each once."""
    declined: tuple[str, ...]
    """Attendees who declined (and are not the organizer)."""
    unmapped: tuple[str, ...] = ()
    """E-mails of people we would invite or remove but who have no TrueConf account."""


@dataclass(frozen=True, slots=True)
class InvitationChanges:
    """What to do to a conference's scheduled list: user IDs to add, invitation IDs to delete."""

    add: tuple[str, ...]
    remove: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return not self.add and not self.remove


def people(occurrence: Occurrence) -> tuple[tuple[Attendee, ...], tuple[Attendee, ...]]:
    """(organizer and attendees who have not declined, attendees who declined), each e-mail once.

    The organizer counts as attending even when listed among the attendees with a declined answer. Rooms and other
    resources are not people: they are in neither.
    """
    attending: dict[str, Attendee] = {}
    declined: dict[str, Attendee] = {}
    everyone: list[Attendee] = [occurrence.organizer] if occurrence.organizer else []
    everyone += [a for a in occurrence.attendees if a.role is not Role.RESOURCE]
    organizer = MailboxAddress(occurrence.organizer.email) if occurrence.organizer else None
    for person in everyone:
        email = MailboxAddress(person.email)
        if email in attending or email in declined:
            continue
        if person.response is Response.DECLINED and email != organizer:
            declined[email] = person
        else:
            attending[email] = person
    return tuple(attending.values()), tuple(declined.values())


def emails(occurrence: Occurrence) -> tuple[str, ...]:
    """Lower-case e-mails of everyone a plan needs mapped (to invite or to remove), for the user resolver."""
    attending, declined = people(occurrence)
    return tuple(MailboxAddress(p.email) for p in (*attending, *declined))


def plan_participants(occurrence: Occurrence, user_ids: Mapping[str, str], mode: ParticipantsMode) -> ParticipantPlan:
    """Map the occurrence's people to TrueConf IDs; ``user_ids`` is keyed by lower-case e-mail."""
    attending, declined = people(occurrence)
    unmapped: list[str] = []

    def ids(group: Iterable[Attendee]) -> tuple[str, ...]:
        found: list[str] = []
        for person in group:
            user_id = user_ids.get(MailboxAddress(person.email))
            if user_id is None:
                unmapped.append(MailboxAddress(person.email))
            elif user_id.lower() not in (f.lower() for f in found):
                found.append(user_id)
        return tuple(found)

    invite = ids(attending)
    declined_ids = tuple(u for u in ids(declined) if u.lower() not in (i.lower() for i in invite))
    return ParticipantPlan(mode, invite, declined_ids, tuple(unmapped))


def invitation_changes(plan: ParticipantPlan, current: Iterable[Invitation]) -> InvitationChanges:
    """The edits that bring a scheduled list in line with ``plan`` (none in temporal mode).

    An invitation matches a user whether the user is known by short ID (``bob``) or full ``uid``
    (``bob@server``), so an explicit ``userMap`` entry in either form works.
    """
    if plan.mode is ParticipantsMode.TEMPORAL:
        return InvitationChanges((), ())
    invitations = tuple(current)
    add = tuple(u for u in plan.invite if not any(inv.is_user(u) for inv in invitations))
    remove = tuple(inv.id for inv in invitations
                   if not inv.is_owner and any(inv.is_user(u) for u in plan.declined))
    return InvitationChanges(add, remove)
