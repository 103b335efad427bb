"""When a linked conference is started: decisions for one occurrence at a given moment (pure, exact times)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tc_calendar.model import ConferenceLink, Occurrence, OccurrenceKey
from tc_calendar.trueconf.launch_plan import LaunchAction, LaunchPolicy, SkipReason, decide_launch

START = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
END = START + timedelta(hours=1)
MEETING = Occurrence(
    key=OccurrenceKey("uid-1"), title="Weekly sync", start=START, end=END,
    conference=ConferenceLink("5576502892", "https://tcs.example.test/c/5576502892"),
)
POLICY = LaunchPolicy(grace=timedelta(minutes=15))


def at(minutes: float) -> datetime:
    return START + timedelta(minutes=minutes)


def test_before_the_start_it_is_started_later_at_the_start() -> None:
    decision = decide_launch(MEETING, at(-30), POLICY)
    assert (decision.action, decision.at, decision.launch) == (LaunchAction.LATER, START, False)


def test_with_a_lead_it_is_started_that_much_before() -> None:
    decision = decide_launch(MEETING, at(-30), replace(POLICY, lead=timedelta(minutes=2)))
    assert decision.at == at(-2)
    assert decide_launch(MEETING, at(-2), replace(POLICY, lead=timedelta(minutes=2))).action is LaunchAction.NOW


@pytest.mark.parametrize("minutes", [0, 0.5, 1])
def test_at_the_start_it_is_started_now(minutes: float) -> None:
    decision = decide_launch(MEETING, at(minutes), POLICY)
    assert decision.action is LaunchAction.NOW and decision.launch
    assert decision.lateness == timedelta(minutes=minutes)


@pytest.mark.parametrize("minutes", [1.5, 10, 15])
def test_late_within_grace_it_is_started_and_the_lateness_recorded(minutes: float) -> None:
    decision = decide_launch(MEETING, at(minutes), POLICY)
    assert decision.action is LaunchAction.LATE and decision.launch
    assert decision.lateness == timedelta(minutes=minutes)


def test_beyond_grace_it_is_skipped_as_missed() -> None:
    decision = decide_launch(MEETING, at(15.01), POLICY)
    assert (decision.action, decision.reason, decision.launch) == (LaunchAction.NEVER, SkipReason.MISSED, False)


def test_after_the_end_it_is_skipped_even_within_grace() -> None:
    short = replace(MEETING, end=at(5))
    assert decide_launch(short, at(5), POLICY).reason is SkipReason.ENDED


def test_a_zero_length_meeting_is_still_started_at_its_start() -> None:
    instant = replace(MEETING, end=START)
    assert decide_launch(instant, START, POLICY).action is LaunchAction.NOW


def test_cancelled_is_never_started() -> None:
    decision = decide_launch(replace(MEETING, cancelled=True), START, POLICY)
    assert (decision.action, decision.reason) == (LaunchAction.NEVER, SkipReason.CANCELLED)


def test_without_a_conference_link_nothing_is_started() -> None:
    decision = decide_launch(replace(MEETING, conference=None), START, POLICY)
    assert (decision.action, decision.reason) == (LaunchAction.NEVER, SkipReason.NO_CONFERENCE)


def test_all_day_events_are_not_started_unless_the_policy_says_so() -> None:
    all_day = replace(MEETING, all_day=True, end=START + timedelta(days=1))
    assert decide_launch(all_day, START, POLICY).reason is SkipReason.ALL_DAY
    assert decide_launch(all_day, START, replace(POLICY, all_day=True)).action is LaunchAction.NOW


def test_zero_grace_still_allows_on_time_jitter() -> None:
    policy = LaunchPolicy(grace=timedelta(0))
    assert decide_launch(MEETING, at(0.5), policy).action is LaunchAction.NOW
    assert decide_launch(MEETING, at(2), policy).reason is SkipReason.MISSED


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=-24 * 60, max_value=24 * 60))
def test_a_meeting_is_launched_exactly_between_its_start_and_min_of_grace_and_end(minute: int) -> None:
    decision = decide_launch(MEETING, at(minute), POLICY)
    assert decision.launch == (0 <= minute <= 15)
    assert (decision.action is LaunchAction.LATER) == (minute < 0)
