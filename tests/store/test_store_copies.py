"""A kept copy survives its trip through JSON exactly."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

from store_builders import MONDAY_9, meeting

from tc_calendar.model import Response
from tc_calendar.store._copies import occurrence_from_json, occurrence_to_json


def test_every_field_of_an_occurrence_survives_json() -> None:
    base = meeting(recurrence_id=MONDAY_9, conference="team")
    answered = replace(base.attendees[0], response=Response.TENTATIVE, response_time=MONDAY_9 - timedelta(hours=1))
    occurrence = replace(
        base,
        attendees=(answered,),
        all_day=True,
        cancelled=True,
        is_exception=True,
        recurrence_summary="Weekly on Monday",
    )

    assert occurrence_from_json(json.loads(json.dumps(occurrence_to_json(occurrence)))) == occurrence


def test_a_single_event_without_organizer_or_link_survives_json() -> None:
    occurrence = replace(meeting(), organizer=None, attendees=())
    assert occurrence_from_json(json.loads(json.dumps(occurrence_to_json(occurrence)))) == occurrence
