"""The EWS adapter on the wire: what it asks Exchange (the simulator over a socket), how often, with which account,
over which transport security, and what it hands to the sync core."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, time, timedelta

import pytest

from ews_sim.server import EwsSimulator
from ews_sim.world import (
    DayOfWeek,
    NoEndRecurrence,
    NumberedRecurrence,
    Recurrence,
    WeeklyPattern,
    World,
)
from tc_calendar.addresses import pick_credential
from tc_calendar.providers._ews_session import EndpointSettings
from tc_calendar.providers.base import MailboxError, ProviderError, ThrottledError, TransientError
from tc_calendar.providers.ews import EwsProvider
from tc_calendar.records import ItemKind
from tc_calendar.sync.window import WindowRead, slide_read, window_at

LOGIN, PASSWORD = "svc-sync", "Sync!pass1"
LOGIN2, PASSWORD2 = "svc-sync2", "Sync!pass2"
ALICE, BOB = "alice@corp.test", "bob@corp.test"
PEOPLE = [f"user{n}@corp.test" for n in range(8)]
NOW = datetime.now(UTC)
TOMORROW = datetime.combine(NOW.date() + timedelta(days=1), time(10), tzinfo=UTC)
HOUR = timedelta(hours=1)
WINDOW = window_at(NOW, 1, 2)


def make_world() -> World:
    world = World()
    world.add_service_account(LOGIN, PASSWORD, impersonation=True)
    world.add_service_account(LOGIN2, PASSWORD2, impersonation=True)
    for smtp in (ALICE, BOB, *PEOPLE):
        world.add_mailbox(smtp, smtp.split("@")[0].title(), "Europe/Berlin")
    return world


@pytest.fixture
def sim() -> Iterator[EwsSimulator]:
    with EwsSimulator(make_world(), host="127.0.0.1", port=0) as running:
        yield running


@pytest.fixture
def https_sim() -> Iterator[EwsSimulator]:
    with EwsSimulator(make_world(), host="127.0.0.1", port=0, https=True) as running:
        yield running


def provider_for(sim: EwsSimulator, **settings: object) -> EwsProvider:
    credentials = settings.pop("credentials", [(LOGIN, PASSWORD)])
    names = ("fetch_chunk_size", "sync_page_size", "calendar_view_page")
    options = {k: settings.pop(k) for k in names if k in settings}
    endpoint = EndpointSettings(
        **{"url": sim.url, "auth": "basic", "timeout_seconds": 10, "server_version": "Exchange2016", **settings}  # type: ignore[arg-type]
    )
    return EwsProvider(endpoint, credentials, **options)  # type: ignore[arg-type]


@pytest.fixture
async def provider(sim: EwsSimulator) -> AsyncIterator[EwsProvider]:
    made = provider_for(sim)
    yield made
    await made.aclose()


def requests_of(sim: EwsSimulator, operation: str) -> int:
    return sim.world.gate.counters().get(operation, {}).get("total", 0)


async def test_a_window_read_is_one_calendar_view_and_get_item_in_chunks(sim: EwsSimulator) -> None:
    for n in range(120):
        start = TOMORROW + timedelta(hours=n)
        sim.world.create_appointment(ALICE, f"Slot {n}", start, start + HOUR / 2)
    provider = provider_for(sim, fetch_chunk_size=50)
    try:
        await provider.latest_sync_state(ALICE)  # warm up: the calendar folder is looked up once
        sim.world.gate.reset_counters()

        items = [item async for item in provider.initial_items(ALICE, WindowRead.of(WINDOW))]
    finally:
        await provider.aclose()

    assert sorted(item.subject for item in items) == sorted(f"Slot {n}" for n in range(120))
    assert requests_of(sim, "FindItem") == 1
    assert requests_of(sim, "GetItem") == 3


async def test_a_series_is_read_as_its_master_with_the_modified_occurrences_attached(
    sim: EwsSimulator, provider: EwsProvider
) -> None:
    weekly = Recurrence(WeeklyPattern((DayOfWeek(TOMORROW.strftime("%A")),)), NumberedRecurrence(TOMORROW.date(), 5))
    meeting = sim.world.create_meeting(
        ALICE, "Weekly", TOMORROW, TOMORROW + HOUR, required=[BOB], recurrence=weekly, time_zone="UTC"
    )
    moved = TOMORROW + timedelta(days=8)
    sim.world.update_occurrence(ALICE, meeting.uid, 2, start=moved, end=moved + HOUR, subject="Weekly (moved)")
    sim.world.delete_occurrence(ALICE, meeting.uid, 4)

    items = [item async for item in provider.initial_items(BOB, WindowRead.of(WINDOW))]

    (master,) = items
    assert master.kind is ItemKind.MASTER and master.recurrence is not None
    assert master.deleted_occurrences == (TOMORROW + timedelta(weeks=3),)
    assert [(e.subject, e.start, e.recurrence_id) for e in master.exceptions] == [
        ("Weekly (moved)", moved, TOMORROW + timedelta(weeks=1))
    ]


async def test_single_meetings_beyond_forward_come_with_the_same_calendar_view_and_series_stop_at_forward(
    sim: EwsSimulator,
) -> None:
    for months in (4, 10):
        start = TOMORROW + timedelta(days=30 * months)
        sim.world.create_appointment(ALICE, f"In {months} months", start, start + HOUR)
    weekly = Recurrence(WeeklyPattern((DayOfWeek(TOMORROW.strftime("%A")),)), NoEndRecurrence(TOMORROW.date()))
    sim.world.create_meeting(ALICE, "Weekly", TOMORROW, TOMORROW + HOUR / 4, recurrence=weekly, time_zone="UTC")
    provider = provider_for(sim)
    try:
        await provider.latest_sync_state(ALICE)  # warm up: the calendar folder is looked up once
        sim.world.gate.reset_counters()

        items = [item async for item in provider.initial_items(ALICE, WindowRead.of(WINDOW))]
    finally:
        await provider.aclose()

    assert sorted(item.subject for item in items) == ["In 10 months", "In 4 months", "Weekly"]
    assert requests_of(sim, "FindItem") == 1  # one view from the window's start to the singles' limit
    # the singles; the master ids of the ~9 occurrences within forward (not of the ~95 beyond: 2 more); the master
    assert requests_of(sim, "GetItem") == 3


async def test_a_calendar_view_exchange_cuts_short_is_continued_from_its_last_start(sim: EwsSimulator) -> None:
    for n in range(12):
        start = TOMORROW + timedelta(days=n)
        sim.world.create_appointment(ALICE, f"Day {n}", start, start + HOUR)
    provider = provider_for(sim, calendar_view_page=5)
    try:
        items = [item async for item in provider.initial_items(ALICE, WindowRead.of(WINDOW))]
    finally:
        await provider.aclose()

    assert sorted(item.subject for item in items) == sorted(f"Day {n}" for n in range(12))
    assert requests_of(sim, "FindItem") == 3


async def test_a_slide_reads_the_days_that_came_within_forward_and_within_the_singles_limit(sim: EwsSimulator) -> None:
    tomorrow = window_at(NOW + timedelta(days=1), 1, 2)
    near = WINDOW.end + timedelta(hours=10)
    far = WINDOW.singles_end + timedelta(hours=10)
    between = WINDOW.end + timedelta(days=30)
    for subject, start in (("Near", near), ("Far", far), ("Between", between)):
        sim.world.create_appointment(ALICE, subject, start, start + HOUR)
    provider = provider_for(sim)
    try:
        items = [item async for item in provider.initial_items(ALICE, slide_read(WINDOW, tomorrow))]
    finally:
        await provider.aclose()

    # "Near" is a single already kept (the window's singles reach far beyond it); only "Far" is new to read
    assert [item.subject for item in items] == ["Far"]
    assert requests_of(sim, "FindItem") == 2  # two one-day views, months apart


async def test_incremental_changes_come_in_pages_with_a_sync_state(sim: EwsSimulator) -> None:
    provider = provider_for(sim, sync_page_size=2)
    try:
        state = await provider.latest_sync_state(ALICE)
        for n in range(5):
            sim.world.create_appointment(ALICE, f"New {n}", TOMORROW + n * HOUR, TOMORROW + n * HOUR + HOUR / 2)
        pages = []
        while True:
            batch = await provider.sync_changes(ALICE, state)
            pages.append(batch)
            state = batch.sync_state
            if batch.includes_last:
                break
        again = await provider.sync_changes(ALICE, state)
    finally:
        await provider.aclose()

    assert [len(page.items) for page in pages] == [2, 2, 1]
    assert sorted(i.subject for page in pages for i in page.items) == [f"New {n}" for n in range(5)]
    assert again.items == () and again.includes_last


async def test_mailboxes_are_spread_over_the_service_accounts_and_each_account_is_throttled_alone(
    sim: EwsSimulator,
) -> None:
    provider = provider_for(sim, credentials=[(LOGIN, PASSWORD), (LOGIN2, PASSWORD2)])
    try:
        for mailbox in PEOPLE:  # look up the calendar folders before the fault
            await provider.latest_sync_state(mailbox)
        on_first = [m for m in PEOPLE if pick_credential(m, 2) == 0]
        on_second = [m for m in PEOPLE if pick_credential(m, 2) == 1]
        assert on_first and on_second
        assert {provider.service_login(m) for m in on_first} == {LOGIN}
        assert [len(group) for group in provider.partition(PEOPLE)] == [len(on_first), len(on_second)]

        sim.world.gate.server_busy(count=None, backoff_ms=1500, account=LOGIN)
        with pytest.raises(ThrottledError) as throttled:
            await provider.latest_sync_state(on_first[0])
        for mailbox in on_second:
            assert await provider.latest_sync_state(mailbox)
    finally:
        sim.world.gate.clear()
        await provider.aclose()

    assert throttled.value.backoff_seconds == 1.5


async def test_requests_in_flight_stay_within_the_accounts_budget_though_more_threads_prepare_them(
    sim: EwsSimulator,
) -> None:
    """The pool has more threads than the budget (they write requests and read answers meanwhile); Exchange, which
    answers ErrorServerBusy past the budget, never sees more than the budget at once."""
    sim.world.gate.set_max_concurrency(2)
    sim.world.gate.set_latency(100)
    provider = provider_for(sim, max_concurrency=2)
    try:
        states = await asyncio.gather(*(provider.latest_sync_state(m) for m in PEOPLE))
    finally:
        sim.world.gate.clear()
        await provider.aclose()

    assert all(states)
    assert not any("ErrorServerBusy" in row for row in sim.world.gate.counters().values())


async def test_a_request_that_timed_out_gives_its_slot_back(sim: EwsSimulator) -> None:
    """With a budget of one request, two requests that ran out of time leave the slot free for the next."""
    provider = provider_for(sim, max_concurrency=1, timeout_seconds=0.5)
    try:
        sim.world.gate.set_latency(3000)
        for _ in range(2):
            with pytest.raises(TransientError):
                await provider.latest_sync_state(ALICE)
        sim.world.gate.set_latency(0)
        state = await asyncio.wait_for(provider.latest_sync_state(ALICE), 30)
    finally:
        sim.world.gate.clear()
        await provider.aclose()

    assert state


async def test_a_missing_mailbox_is_a_mailbox_error(provider: EwsProvider) -> None:
    with pytest.raises(MailboxError, match="no such mailbox"):
        await provider.latest_sync_state("nobody@corp.test")


@pytest.mark.parametrize("auth", ["ntlm", "auto"])
async def test_ntlm_and_detected_authentication_work(sim: EwsSimulator, auth: str) -> None:
    sim.world.create_appointment(ALICE, "Dentist", TOMORROW, TOMORROW + HOUR)
    provider = provider_for(sim, auth=auth)
    try:
        items = [item async for item in provider.initial_items(ALICE, WindowRead.of(WINDOW))]
    finally:
        await provider.aclose()

    assert [item.subject for item in items] == ["Dentist"]


async def test_tls_is_verified_against_the_ca_bundle(https_sim: EwsSimulator) -> None:
    assert https_sim.certificate is not None
    https_sim.world.create_appointment(ALICE, "Dentist", TOMORROW, TOMORROW + HOUR)
    trusted = provider_for(https_sim, ca_bundle=https_sim.certificate.cert_file)
    untrusted = provider_for(https_sim, credentials=[(LOGIN2, PASSWORD2)])
    try:
        items = [item async for item in trusted.initial_items(ALICE, WindowRead.of(WINDOW))]
        with pytest.raises(TransientError, match="cannot reach Exchange"):
            await untrusted.latest_sync_state(BOB)
    finally:
        await trusted.aclose()
        await untrusted.aclose()

    assert [item.subject for item in items] == ["Dentist"]


async def test_turning_tls_verification_off_works_and_is_logged_loudly(
    https_sim: EwsSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        provider = provider_for(https_sim, verify_tls=False)
    try:
        assert await provider.latest_sync_state(ALICE)
    finally:
        await provider.aclose()

    assert any("verification is OFF" in record.getMessage() for record in caplog.records)


async def test_watching_yields_a_change_for_the_mailbox_whose_calendar_changed(
    sim: EwsSimulator, provider: EwsProvider
) -> None:
    seen: list[tuple[str, str]] = []

    async def consume() -> None:
        async for notification in provider.watch([ALICE, BOB]):
            seen.append((notification.mailbox, notification.kind.value))
            if notification.kind.value == "changed":
                return

    task = asyncio.create_task(consume())
    for _ in range(1500):  # both streams are open: a change made before them would not be streamed
        if len(seen) >= 2:
            break
        await asyncio.sleep(0.02)
    assert sorted(seen) == [(ALICE, "resync"), (BOB, "resync")]
    sim.world.create_appointment(BOB, "Dentist", TOMORROW, TOMORROW + HOUR)
    await asyncio.wait_for(task, 30)

    assert sorted(seen[:2]) == [(ALICE, "resync"), (BOB, "resync")]
    assert seen[-1] == (BOB, "changed")


async def test_a_service_account_opens_no_more_streams_than_exchange_allows(sim: EwsSimulator) -> None:
    provider = provider_for(sim, max_streams=1)
    first = provider.watch([ALICE])
    try:
        assert (await asyncio.wait_for(anext(first), 30)).mailbox == ALICE  # the first stream is open
        with pytest.raises(ProviderError, match="polled instead"):
            await anext(provider.watch([BOB]))
    finally:
        await first.aclose()
        await provider.aclose()


def test_a_throttled_answer_while_no_session_is_idle_does_not_deadlock_the_service_account(sim: EwsSimulator) -> None:
    """On ErrorServerBusy exchangelib shrinks its session pool: it takes the pool's lock, waits for an idle session
    to close and, when none is idle and the pool may still grow, asks for a new one under that same lock. That
    thread never returned, and every request of the service account that needed a session waited behind it."""
    import threading

    from exchangelib.errors import SessionPoolMinSizeReached

    from tc_calendar.providers._ews_session import ServiceAccount

    endpoint = EndpointSettings(sim.url, auth="basic", server_version="Exchange2016", max_concurrency=2, max_streams=1)
    protocol = ServiceAccount(endpoint, LOGIN, PASSWORD).protocol
    in_use = [protocol.get_session(), protocol.get_session()]  # a stream and a request: no session is idle
    answered = threading.Event()

    def throttled() -> None:  # what exchangelib does with an ErrorServerBusy answer
        with contextlib.suppress(SessionPoolMinSizeReached):
            protocol.decrease_poolsize()
        answered.set()

    threading.Thread(target=throttled, daemon=True).start()
    try:
        assert answered.wait(10), "the throttled request never returned"
        spare = protocol.get_session()  # and the account can still send
        protocol.release_session(spare)
    finally:
        for session in in_use:
            protocol.release_session(session)
        protocol.close()
