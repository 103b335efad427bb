"""Who is put into the conference: organizer and attendees who have not declined (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tc_calendar.model import Attendee, ConferenceLink, Occurrence, OccurrenceKey, Response, Role
from tc_calendar.trueconf.models import Invitation
from tc_calendar.trueconf.participants import (
    ParticipantsMode,
    emails,
    invitation_changes,
    plan_participants,
)

START = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
ALICE = Attendee("alice@example.test", "Alice", Role.ORGANIZER, Response.ORGANIZER)
BOB = Attendee("bob@example.test", "Bob", Role.REQUIRED, Response.ACCEPTED)
CAROL = Attendee("carol@example.test", "Carol", Role.OPTIONAL, Response.TENTATIVE)
DAVE = Attendee("dave@example.test", "Dave", Role.REQUIRED, Response.NO_RESPONSE)
ERIN = Attendee("erin@example.test", "Erin", Role.REQUIRED, Response.DECLINED)
GUEST = Attendee("guest@partner.test", "Guest", Role.OPTIONAL, Response.ACCEPTED)
IDS = {"alice@example.test": "alice", "bob@example.test": "bob", "carol@example.test": "carol",
       "dave@example.test": "dave", "erin@example.test": "erin"}


def meeting(*attendees: Attendee, organizer: Attendee = ALICE) -> Occurrence:
    return Occurrence(key=OccurrenceKey("uid-1"), title="Sync", start=START, end=START + timedelta(hours=1),
                      organizer=organizer, attendees=attendees,
                      conference=ConferenceLink("5576502892", "https://tcs.example.test/c/5576502892"))


def inv(user_id: str, *, owner: bool = False) -> Invitation:
    return Invitation(id=user_id, uid=f"{user_id}@tcs.example.test", is_owner=owner)


def test_organizer_first_then_everyone_who_has_not_declined() -> None:
    plan = plan_participants(meeting(BOB, CAROL, DAVE, ERIN), IDS, ParticipantsMode.SCHEDULED)
    assert plan.invite == ("alice", "bob", "carol", "dave")
    assert plan.declined == ("erin",)
    assert plan.unmapped == ()


def test_attendees_without_a_trueconf_account_are_reported_not_invited() -> None:
    plan = plan_participants(meeting(BOB, GUEST), IDS, ParticipantsMode.SCHEDULED)
    assert plan.invite == ("alice", "bob") and plan.unmapped == ("guest@partner.test",)


def test_e_mails_match_whatever_their_case() -> None:
    shouting = Attendee("BOB@Example.TEST", "Bob", Role.REQUIRED, Response.ACCEPTED)
    assert plan_participants(meeting(shouting), IDS, ParticipantsMode.SCHEDULED).invite == ("alice", "bob")


def test_organizer_listed_again_as_an_attendee_is_invited_once_even_if_declined_there() -> None:
    again = Attendee("alice@example.test", "Alice", Role.REQUIRED, Response.DECLINED)
    plan = plan_participants(meeting(again, BOB), IDS, ParticipantsMode.SCHEDULED)
    assert plan.invite == ("alice", "bob") and plan.declined == ()


def test_two_e_mails_of_one_trueconf_user_give_one_invitation() -> None:
    alias = Attendee("b.baker@example.test", "Bob", Role.REQUIRED, Response.ACCEPTED)
    plan = plan_participants(meeting(BOB, alias), {**IDS, "b.baker@example.test": "bob"}, ParticipantsMode.SCHEDULED)
    assert plan.invite == ("alice", "bob")


def test_scheduled_mode_adds_the_missing_and_removes_those_who_declined() -> None:
    plan = plan_participants(meeting(BOB, CAROL, ERIN), IDS, ParticipantsMode.SCHEDULED)
    changes = invitation_changes(plan, [inv("alice", owner=True), inv("bob"), inv("erin")])
    assert (changes.add, changes.remove) == (("carol",), ("erin",))


def test_scheduled_mode_leaves_invitations_of_people_outside_the_event_alone() -> None:
    plan = plan_participants(meeting(BOB), IDS, ParticipantsMode.SCHEDULED)
    changes = invitation_changes(plan, [inv("alice", owner=True), inv("bob"), inv("zoe")])
    assert changes.empty


def test_the_owner_invitation_is_never_removed() -> None:
    plan = plan_participants(meeting(ERIN, organizer=BOB), IDS, ParticipantsMode.SCHEDULED)
    changes = invitation_changes(plan, [inv("erin", owner=True)])
    assert changes.add == ("bob",) and changes.remove == ()


def test_user_map_may_name_users_by_full_uid() -> None:
    ids = {**IDS, "bob@example.test": "bob@tcs.example.test"}
    plan = plan_participants(meeting(BOB), ids, ParticipantsMode.SCHEDULED)
    assert invitation_changes(plan, [inv("alice", owner=True), inv("bob")]).empty


def test_temporal_mode_never_changes_the_scheduled_list() -> None:
    plan = plan_participants(meeting(BOB, ERIN), IDS, ParticipantsMode.TEMPORAL)
    assert plan.invite == ("alice", "bob")
    assert invitation_changes(plan, [inv("erin")]).empty


def test_mode_from_config() -> None:
    assert ParticipantsMode.from_config(False) is ParticipantsMode.SCHEDULED
    assert ParticipantsMode.from_config(True) is ParticipantsMode.TEMPORAL


def test_everyone_to_map_includes_those_who_declined() -> None:
    assert emails(meeting(BOB, ERIN)) == ("alice@example.test", "bob@example.test", "erin@example.test")


NAMES = ("alice", "bob", "carol", "dave", "erin")


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    answers=st.lists(st.tuples(st.sampled_from(NAMES), st.sampled_from(list(Response))), max_size=8),
    organizer=st.sampled_from(NAMES),
    listed=st.sets(st.sampled_from((*NAMES, "zoe"))),
)
def test_after_the_changes_the_list_holds_every_attendee_and_no_one_who_declined(
        answers: list[tuple[str, Response]], organizer: str, listed: set[str]) -> None:
    occurrence = meeting(*(Attendee(f"{n}@example.test", n, Role.REQUIRED, r) for n, r in answers),
                         organizer=Attendee(f"{organizer}@example.test", organizer, Role.ORGANIZER,
                                            Response.ORGANIZER))
    plan = plan_participants(occurrence, IDS, ParticipantsMode.SCHEDULED)
    current = [inv(u) for u in sorted(listed)]
    changes = invitation_changes(plan, current)
    after = (listed - set(changes.remove)) | set(changes.add)
    assert set(plan.invite) <= after
    assert not (set(plan.declined) & after)
    assert organizer in after and organizer not in changes.remove
    assert after - set(plan.invite) - set(plan.declined) == listed - set(plan.invite) - set(plan.declined)
