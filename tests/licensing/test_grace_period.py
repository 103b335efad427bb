"""The service's licence guard over a real socket against the registration server simulator, with a controlled
clock: the free edition checks in, survives an outage for the grace period, pauses after it, resumes when the
server is back; restarts do not reset the grace period; an untrusted licence stops the service."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from licensing_harness import FREE_KEY, STANDARD_KEY

from reg_sim import RegServer
from tc_calendar.licensing import LicenceSignatureError
from tc_calendar.licensing.enforcement import GRACE_PERIOD, LicenceStatus, Standing
from tc_calendar.licensing.guard import LicenceGuard, licence_status_line
from tc_calendar.licensing.registration import Installation, register_online

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(reg: RegServer) -> Clock:
    clock = Clock(T0)
    reg.registry.clock = clock
    return clock


@pytest.fixture
def installation(config: Path) -> Installation:
    return Installation.from_config(config)


async def test_free_edition_checks_in_then_survives_an_outage_for_the_grace_period(
    reg: RegServer, clock: Clock, installation: Installation
) -> None:
    await register_online(FREE_KEY, installation, clock())
    guard = LicenceGuard(installation, clock=clock)
    assert guard.open().standing is Standing.LICENSED
    assert (await guard.check()).standing is Standing.LICENSED
    assert [entry.at for entry in reg.registry.check_ins_of(FREE_KEY)] == [T0]

    reg.registry.available = False
    clock.now = T0 + timedelta(days=3)
    status = await guard.check()
    assert status.standing is Standing.GRACE and status.sync_allowed
    assert "synchronization pauses on 2026-03-08 09:00 UTC" in status.message

    clock.now = T0 + GRACE_PERIOD - timedelta(seconds=1)
    assert (await guard.check()).sync_allowed
    clock.now = T0 + GRACE_PERIOD
    paused = await guard.check()
    assert paused.standing is Standing.PAUSED and not paused.sync_allowed
    assert "SYNCHRONIZATION PAUSED" in licence_status_line(installation)

    # A restart does not reset the grace period: the last check-in is remembered beside the licence.
    clock.now = T0 + GRACE_PERIOD + timedelta(hours=1)
    assert LicenceGuard(installation, clock=clock).open().standing is Standing.PAUSED

    reg.registry.available = True
    resumed = await guard.check()
    assert resumed.standing is Standing.LICENSED and resumed.sync_allowed
    assert licence_status_line(installation) == "Licence: free edition (50 accounts)"


async def test_the_running_guard_pauses_and_resumes_synchronization(
    reg: RegServer, clock: Clock, installation: Installation
) -> None:
    await register_online(FREE_KEY, installation, clock())
    guard = LicenceGuard(installation, clock=clock, interval=timedelta(milliseconds=20))
    assert guard.open().sync_allowed
    reg.registry.available = False
    clock.now = T0 + GRACE_PERIOD + timedelta(minutes=1)
    heard: list[LicenceStatus] = []
    changed = asyncio.Event()

    async def on_change(status: LicenceStatus) -> None:
        heard.append(status)
        changed.set()

    stop = asyncio.Event()
    running = asyncio.create_task(guard.run(stop, on_change))
    await asyncio.wait_for(changed.wait(), 10)
    assert [status.sync_allowed for status in heard] == [False]
    changed.clear()
    reg.registry.available = True
    await asyncio.wait_for(changed.wait(), 10)
    assert [status.sync_allowed for status in heard] == [False, True]
    stop.set()
    await asyncio.wait_for(running, 10)


async def test_unregistered_runs_for_the_grace_period_and_registering_resumes_it(
    reg: RegServer, clock: Clock, installation: Installation
) -> None:
    guard = LicenceGuard(installation, clock=clock)
    status = guard.open()
    assert (status.standing, status.registered, status.account_limit) == (Standing.GRACE, False, 50)
    clock.now = T0 + GRACE_PERIOD
    assert (await guard.check()).standing is Standing.PAUSED
    assert reg.registry.check_ins == []
    await register_online(STANDARD_KEY, installation, clock())
    registered = await guard.check()  # the licence file is re-read: no restart needed
    assert (registered.standing, registered.account_limit) == (Standing.LICENSED, 120)


async def test_the_standard_edition_does_not_check_in_and_pauses_when_it_expires(
    reg: RegServer, clock: Clock, installation: Installation
) -> None:
    await register_online(STANDARD_KEY, installation, clock())
    guard = LicenceGuard(installation, clock=clock)
    assert guard.open().standing is Standing.LICENSED
    reg.registry.available = False
    clock.now = T0 + timedelta(days=100)
    assert (await guard.check()).standing is Standing.LICENSED
    assert reg.registry.check_ins == []
    clock.now = T0 + timedelta(days=365)
    expired = await guard.check()
    assert expired.standing is Standing.PAUSED and "expired on" in expired.message


async def test_a_tampered_licence_stops_the_service_at_start(
    reg: RegServer, clock: Clock, installation: Installation
) -> None:
    await register_online(STANDARD_KEY, installation, clock())
    document = json.loads(installation.licence_file.read_text())
    document["signature"] = "A" * 86 + "=="
    installation.licence_file.write_text(json.dumps(document))
    with pytest.raises(LicenceSignatureError, match="altered"):
        LicenceGuard(installation, clock=clock).open()


async def test_a_state_file_that_cannot_be_written_costs_the_record_not_the_service(
    clock: Clock, installation: Installation, caplog: pytest.LogCaptureFixture
) -> None:
    (installation.config_dir / "license.state.json").mkdir()  # a directory where the file should be
    assert LicenceGuard(installation, clock=clock).open().standing is Standing.GRACE
    assert "cannot save the licence state" in caplog.text


async def test_a_check_in_renews_the_free_licence_so_it_does_not_expire_while_in_touch(
    reg: RegServer, clock: Clock, installation: Installation
) -> None:
    await register_online(FREE_KEY, installation, clock())
    guard = LicenceGuard(installation, clock=clock)
    guard.open()
    clock.now = T0 + timedelta(days=300)
    assert (await guard.check()).standing is Standing.LICENSED
    clock.now = T0 + timedelta(days=400)  # past the first licence's 365 days
    assert (await guard.check()).standing is Standing.LICENSED
    assert len(reg.registry.check_ins_of(FREE_KEY)) == 2


async def test_a_licence_file_spoiled_while_running_pauses_synchronization_with_the_reason(
    reg: RegServer, clock: Clock, installation: Installation
) -> None:
    await register_online(STANDARD_KEY, installation, clock())
    guard = LicenceGuard(installation, clock=clock)
    assert guard.open().sync_allowed
    installation.licence_file.write_text("{}")
    status = await guard.check()
    assert not status.sync_allowed
    assert "is not a tc-calendar licence file" in status.message and "synchronization is paused" in status.message


async def test_the_grace_period_warning_is_logged_once_then_as_a_daily_reminder(
    clock: Clock, installation: Installation, caplog: pytest.LogCaptureFixture
) -> None:
    """The check at start and the first check-in right after it say the same thing: the admin reads it once."""
    guard = LicenceGuard(installation, clock=clock)
    with caplog.at_level("WARNING", logger="tc_calendar.licensing"):
        guard.open()
        await guard.check()
        clock.now = T0 + timedelta(hours=1)
        await guard.check()
        assert [record.getMessage() for record in caplog.records].count(caplog.records[0].getMessage()) == 1
        assert "the product is not registered" in caplog.records[0].getMessage()

        clock.now = T0 + timedelta(days=1, hours=1)
        await guard.check()
    assert len([record for record in caplog.records if "not registered" in record.getMessage()]) == 2
