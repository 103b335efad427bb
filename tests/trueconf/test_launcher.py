"""Starting a linked conference on the TrueConf Server simulator with the event's attendees."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from trueconf_support import ClientFactory

from tc_calendar.model import Attendee, ConferenceLink, Occurrence, OccurrenceKey, Response, Role
from tc_calendar.trueconf.errors import ConferenceNotFoundError, TrueConfAuthError, TrueConfUnavailableError
from tc_calendar.trueconf.launcher import ConferenceLauncher, NoConferenceLinkError, launch_conference
from tc_calendar.trueconf.participants import ParticipantsMode, plan_participants
from tc_calendar.trueconf.users import InMemoryUserCache, UserResolver
from tcs_sim.runner import SimServer

CID = "5576502892"  # owner alice, bob invited
START = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
IDS = {f"{u}@example.test": u for u in ("alice", "bob", "carol", "dave", "erin")}
VERSIONS = ["v3.11", "v4"]


def person(name: str, response: Response, role: Role = Role.REQUIRED) -> Attendee:
    return Attendee(f"{name}@example.test", name.title(), role, response)


def meeting(*attendees: Attendee, cid: str = CID) -> Occurrence:
    return Occurrence(key=OccurrenceKey("uid-1"), title="Weekly sync", start=START, end=START + timedelta(hours=1),
                      organizer=person("alice", Response.ORGANIZER, Role.ORGANIZER), attendees=attendees,
                      conference=ConferenceLink(cid, f"https://tcs.example.test/c/{cid}"))


# bob declined, carol accepted, dave has not answered, a guest has no TrueConf account
EVENT = meeting(person("bob", Response.DECLINED), person("carol", Response.ACCEPTED),
                person("dave", Response.NO_RESPONSE), person("guest", Response.ACCEPTED))


@pytest.mark.parametrize("version", VERSIONS)
async def test_scheduled_mode_sets_the_list_then_starts(sim: SimServer, make_client: ClientFactory,
                                                        version: str) -> None:
    plan = plan_participants(EVENT, IDS, ParticipantsMode.SCHEDULED)
    outcome = await launch_conference(make_client(version), EVENT, plan)
    assert outcome.started and outcome.added == ("carol", "dave") and outcome.removed == ("bob",)
    assert outcome.unmapped == ("guest@example.test",)
    [run] = sim.world.runs_of(CID)
    assert run.invitations == ("alice", "carol", "dave")  # the list was in place when it started
    assert sim.world.live_invites == []


@pytest.mark.parametrize("version", VERSIONS)
async def test_temporal_mode_calls_attendees_in_and_keeps_the_scheduled_list(sim: SimServer,
                                                                             make_client: ClientFactory,
                                                                             version: str) -> None:
    plan = plan_participants(EVENT, IDS, ParticipantsMode.TEMPORAL)
    outcome = await launch_conference(make_client(version), EVENT, plan)
    assert outcome.started and outcome.called == ("alice", "carol", "dave")
    assert (outcome.added, outcome.removed) == ((), ())
    assert [i["id"] for i in sim.world.invitations(CID)] == ["alice", "bob"]
    assert [p["id"] for p in sim.world.participants(CID)] == ["alice", "carol", "dave"]


async def test_an_already_running_conference_is_not_started_again(sim: SimServer,
                                                                  make_client: ClientFactory) -> None:
    sim.world.run_conference(CID)
    plan = plan_participants(EVENT, IDS, ParticipantsMode.SCHEDULED)
    outcome = await launch_conference(make_client(), EVENT, plan)
    assert not outcome.started and outcome.added == ("carol", "dave")
    assert sim.world.requests_to("POST", "/run") == []


async def test_a_retry_after_the_start_failed_finishes_the_job(sim: SimServer, make_client: ClientFactory) -> None:
    client = make_client()
    plan = plan_participants(EVENT, IDS, ParticipantsMode.SCHEDULED)
    sim.world.set_faults(server_errors=1, server_error_path="/run")
    with pytest.raises(TrueConfUnavailableError) as caught:
        await launch_conference(client, EVENT, plan)
    assert caught.value.retryable and sim.world.runs_of(CID) == []
    outcome = await launch_conference(client, EVENT, plan)  # the list is already set; only the start is left
    assert outcome.started and (outcome.added, outcome.removed) == ((), ())
    assert sim.world.runs_of(CID)[0].invitations == ("alice", "carol", "dave")


async def test_repeating_a_finished_launch_changes_nothing(sim: SimServer, make_client: ClientFactory) -> None:
    client = make_client()
    plan = plan_participants(EVENT, IDS, ParticipantsMode.SCHEDULED)
    await launch_conference(client, EVENT, plan)
    again = await launch_conference(client, EVENT, plan)
    assert (again.started, again.added, again.removed) == (False, (), ())
    assert len(sim.world.runs_of(CID)) == 1


async def test_a_user_the_server_refuses_does_not_stop_the_start(sim: SimServer, make_client: ClientFactory) -> None:
    plan = plan_participants(EVENT, {**IDS, "dave@example.test": "ghost"}, ParticipantsMode.TEMPORAL)
    outcome = await launch_conference(make_client(), EVENT, plan)
    assert outcome.started and outcome.called == ("alice", "carol")
    assert [user for user, _ in outcome.refused] == ["ghost"]


async def test_missing_conference_is_reported(make_client: ClientFactory) -> None:
    event = meeting(person("carol", Response.ACCEPTED), cid="gone")
    with pytest.raises(ConferenceNotFoundError):
        await launch_conference(make_client(), event, plan_participants(event, IDS, ParticipantsMode.SCHEDULED))


async def test_auth_failure_is_reported(sim: SimServer, make_client: ClientFactory) -> None:
    sim.world.set_faults(token_failures=2)
    with pytest.raises(TrueConfAuthError):
        await launch_conference(make_client(), EVENT, plan_participants(EVENT, IDS, ParticipantsMode.SCHEDULED))
    assert sim.world.runs == []


async def test_an_occurrence_without_link_cannot_be_launched(make_client: ClientFactory) -> None:
    event = Occurrence(key=OccurrenceKey("x"), title="t", start=START, end=START)
    with pytest.raises(NoConferenceLinkError):
        await launch_conference(make_client(), event, plan_participants(event, IDS, ParticipantsMode.SCHEDULED))


async def test_the_launcher_maps_e_mails_through_the_server_directory(sim: SimServer,
                                                                     make_client: ClientFactory) -> None:
    client = make_client()
    launcher = ConferenceLauncher(client, UserResolver(client, InMemoryUserCache()), ParticipantsMode.SCHEDULED)
    outcome = await launcher.launch(EVENT)
    assert outcome.started and outcome.added == ("carol", "dave") and outcome.removed == ("bob",)
    assert outcome.unmapped == ("guest@example.test",)


async def test_the_outcome_is_recorded_as_json(make_client: ClientFactory) -> None:
    outcome = await launch_conference(make_client(), EVENT, plan_participants(EVENT, IDS, ParticipantsMode.SCHEDULED))
    assert outcome.as_payload() == {"conferenceId": CID, "started": True, "added": ["carol", "dave"],
                                    "removed": ["bob"], "called": [], "refused": [],
                                    "unmapped": ["guest@example.test"]}
