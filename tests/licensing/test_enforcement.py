"""The pure rules: how many accounts each edition synchronizes, and when synchronization may run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tc_calendar.licensing import Edition, Licence
from tc_calendar.licensing.enforcement import (
    CHECK_IN_INTERVAL,
    FREE_ACCOUNT_LIMIT,
    GRACE_PERIOD,
    Standing,
    decide,
    effective_account_limit,
)

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
FREE = Licence(Edition.FREE, 50, "FREE-1", "tcc1-x", T0, T0 + timedelta(days=365))
STANDARD = Licence(Edition.STANDARD, 500, "STD-1", "tcc1-x", T0, T0 + timedelta(days=365))
UNLIMITED = Licence(Edition.STANDARD, None, "STD-2", "tcc1-x", T0, None)


@pytest.mark.parametrize(("licence", "configured", "limit"), [
    (None, None, FREE_ACCOUNT_LIMIT),
    (FREE, None, 50),
    (Licence(Edition.FREE, 500, "FREE-1", "tcc1-x", T0, None), None, 50),  # a free licence never exceeds 50
    (FREE, 20, 20),
    (STANDARD, None, 500),
    (STANDARD, 1000, 500),  # accountLimit lowers the licence's limit, never raises it
    (STANDARD, 100, 100),
    (UNLIMITED, None, None),
    (UNLIMITED, 300, 300),
])
def test_the_account_limit_of_each_edition(licence: Licence | None, configured: int | None, limit: int | None) -> None:
    assert effective_account_limit(licence, configured) == limit


def test_the_free_edition_runs_while_it_checks_in() -> None:
    status = decide(FREE, now=T0 + timedelta(days=30), first_started=T0,
                    last_check_in=T0 + timedelta(days=30) - CHECK_IN_INTERVAL)
    assert (status.standing, status.account_limit, status.sync_allowed) == (Standing.LICENSED, 50, True)


def test_the_free_edition_warns_through_the_grace_period_then_pauses() -> None:
    last = T0 + timedelta(days=10)
    during = decide(FREE, now=last + GRACE_PERIOD - timedelta(seconds=1), first_started=T0, last_check_in=last)
    assert during.standing is Standing.GRACE and during.sync_allowed
    assert "synchronization pauses on 2026-03-18 09:00 UTC" in during.message
    after = decide(FREE, now=last + GRACE_PERIOD, first_started=T0, last_check_in=last)
    assert after.standing is Standing.PAUSED and not after.sync_allowed
    assert "grace period ended on 2026-03-18 09:00 UTC" in after.message


def test_registration_itself_counts_as_contact_with_the_server() -> None:
    assert decide(FREE, now=T0 + timedelta(days=6), first_started=T0, last_check_in=None).sync_allowed
    assert not decide(FREE, now=T0 + timedelta(days=7), first_started=T0, last_check_in=None).sync_allowed


def test_an_unregistered_installation_runs_as_the_free_edition_for_the_grace_period() -> None:
    status = decide(None, now=T0 + timedelta(days=1), first_started=T0, last_check_in=None)
    assert (status.standing, status.registered, status.account_limit) == (Standing.GRACE, False, 50)
    assert "not registered" in status.message and "tc_calendar --register KEY" in status.message
    ended = decide(None, now=T0 + GRACE_PERIOD, first_started=T0, last_check_in=None)
    assert ended.standing is Standing.PAUSED and "synchronization is paused" in ended.message


def test_the_standard_edition_needs_no_check_in_until_it_expires() -> None:
    status = decide(STANDARD, now=T0 + timedelta(days=300), first_started=T0, last_check_in=None)
    assert (status.standing, status.account_limit) == (Standing.LICENSED, 500)
    expired = decide(STANDARD, now=T0 + timedelta(days=365), first_started=T0, last_check_in=None)
    assert expired.standing is Standing.PAUSED and "expired on 2027-03-01" in expired.message
