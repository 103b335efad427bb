"""Accounts, access rights, identifiers and the errors they raise, with Exchange's ResponseCodes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from ews_sim.world import (
    AccessDenied,
    CalendarDurationIsTooLong,
    CalendarEndDateIsEarlierThanStartDate,
    DailyPattern,
    FolderNotFound,
    ImpersonateUserDenied,
    InternalServerTransientError,
    InvalidIdMalformed,
    InvalidSyncStateData,
    ItemCorrupt,
    ItemNotFound,
    MailboxMoveInProgress,
    MailboxUnavailable,
    NonExistentMailbox,
    NotRecurringMaster,
    NumberedRecurrence,
    OccurrenceIndexOutOfRange,
    Recurrence,
    SimClock,
    World,
)

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
ALICE, BOB = "alice@example.com", "bob@example.com"


@pytest.fixture
def world() -> World:
    world = World(SimClock(lambda: NOW))
    world.add_mailbox(ALICE, "Alice", "Europe/Berlin", password="alice-pw")
    world.add_mailbox(BOB, "Bob", "UTC")
    world.add_service_account("svc-trueconf", "S3rvice!", impersonation=True)
    world.add_service_account("svc-readonly", "pw", impersonation=False)
    return world


@pytest.mark.parametrize("login", ["svc-trueconf", "SVC-TrueConf", "CORP\\svc-trueconf", "svc-trueconf@corp.example"])
def test_service_login_forms(world: World, login: str) -> None:
    account = world.authenticate(login, "S3rvice!")
    assert account is not None and account.login == "svc-trueconf" and account.impersonation


def test_wrong_password_or_unknown_login(world: World) -> None:
    assert world.authenticate("svc-trueconf", "wrong") is None
    assert world.authenticate("nobody", "S3rvice!") is None
    user = world.authenticate("Alice@Example.com", "alice-pw")
    assert user is not None and user.smtp == ALICE and not user.impersonation


def test_impersonation_needs_the_role(world: World) -> None:
    svc = world.authenticate("svc-trueconf", "S3rvice!")
    ro = world.authenticate("svc-readonly", "pw")
    assert svc is not None and ro is not None
    assert world.open_mailbox(svc, "BOB@example.com", impersonate=True).smtp == BOB
    assert world.can_impersonate(svc, BOB) and not world.can_impersonate(ro, BOB)
    with pytest.raises(ImpersonateUserDenied) as denied:
        world.open_mailbox(ro, BOB, impersonate=True)
    assert denied.value.response_code == "ErrorImpersonateUserDenied"
    with pytest.raises(NonExistentMailbox) as missing:
        world.open_mailbox(svc, "ghost@example.com", impersonate=True)
    assert missing.value.response_code == "ErrorNonExistentMailbox"


def test_delegate_access_without_impersonation(world: World) -> None:
    alice = world.authenticate(ALICE, "alice-pw")
    assert alice is not None
    assert world.open_mailbox(alice).smtp == ALICE
    with pytest.raises(AccessDenied) as denied:
        world.open_mailbox(alice, BOB)
    assert denied.value.response_code == "ErrorAccessDenied"
    world.grant_delegate(BOB, ALICE)
    assert world.open_mailbox(alice, BOB).smtp == BOB
    world.revoke_delegate(BOB, ALICE)
    with pytest.raises(AccessDenied):
        world.open_mailbox(alice, BOB)


def test_unavailable_mailbox_fault(world: World) -> None:
    world.set_mailbox_unavailable(BOB)
    with pytest.raises(MailboxUnavailable) as info:
        world.calendar_view(BOB, NOW, NOW + timedelta(days=1))
    assert info.value.response_code == "ErrorMailboxStoreUnavailable"
    world.set_mailbox_unavailable(BOB, move_in_progress=True)
    with pytest.raises(MailboxMoveInProgress) as moving:
        world.mailbox(BOB)
    assert moving.value.response_code == "ErrorMailboxMoveInProgress"
    world.create_appointment(BOB, "still works for users", NOW, NOW + timedelta(hours=1))
    world.clear_faults()
    assert len(world.find_items(BOB)) == 1


def test_folders(world: World) -> None:
    mailbox = world.mailbox(ALICE)
    calendar = world.distinguished_folder(ALICE, "calendar")
    assert calendar.folder_id == mailbox.calendar_folder_id and calendar.folder_class == "IPF.Appointment"
    assert world.folder(calendar.folder_id).display_name == "Calendar"
    assert world.mailbox_of_id(calendar.folder_id) == ALICE
    assert world.folder(calendar.parent_folder_id or "").distinguished_id == "msgfolderroot"
    assert calendar.folder_id != world.mailbox(BOB).calendar_folder_id
    with pytest.raises(FolderNotFound):
        world.distinguished_folder(ALICE, "nosuchfolder")
    with pytest.raises(InvalidIdMalformed):
        world.folder("AAAA")


def test_item_ids_are_opaque_and_checked(world: World) -> None:
    item = world.create_appointment(ALICE, "a", NOW, NOW + timedelta(hours=1))
    assert item.item_id.startswith("AAMkA") and item.change_key
    for bad in ("", "not base64!", item.item_id[:-6] + "AAAAAA", world.mailbox(ALICE).calendar_folder_id):
        with pytest.raises(InvalidIdMalformed) as info:
            world.get_item(bad)
        assert info.value.response_code == "ErrorInvalidIdMalformed"
    with pytest.raises(ItemNotFound):
        world.get_item(item.item_id, BOB)
    world.delete_item(item.item_id)
    with pytest.raises(ItemNotFound) as gone:
        world.get_item(item.item_id)
    assert gone.value.response_code == "ErrorItemNotFound"


def test_occurrence_item_ids_resolve_back(world: World) -> None:
    master = world.create_appointment(
        ALICE, "daily", datetime(2026, 3, 2, 9), datetime(2026, 3, 2, 10),
        recurrence=Recurrence(DailyPattern(), NumberedRecurrence(date(2026, 3, 2), 3)),
    )  # fmt: skip
    third = world.get_occurrence(master.item_id, 3)
    assert third.start == datetime(2026, 3, 4, 8, tzinfo=UTC) and third.recurring_master_id == master.item_id
    assert world.get_item(third.item_id).instance_index == 3
    assert world.get_recurring_master(third.item_id).item_id == master.item_id
    with pytest.raises(OccurrenceIndexOutOfRange) as info:
        world.get_occurrence(master.item_id, 4)
    assert info.value.response_code == "ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange"
    single = world.create_appointment(ALICE, "single", NOW, NOW + timedelta(hours=1))
    with pytest.raises(NotRecurringMaster):
        world.get_occurrence(single.item_id, 1)
    world.delete_item(third.item_id)
    with pytest.raises(ItemNotFound):
        world.get_item(third.item_id)


def test_all_day_items_snap_to_local_midnight(world: World) -> None:
    item = world.create_appointment(
        ALICE, "Holiday", datetime(2026, 3, 29, 12), datetime(2026, 3, 29, 12), all_day=True
    )
    assert (item.start, item.end) == (datetime(2026, 3, 28, 23, tzinfo=UTC), datetime(2026, 3, 29, 22, tzinfo=UTC))
    assert item.is_all_day and item.start_time_zone == "Europe/Berlin"


def test_calendar_view_bounds_and_order(world: World) -> None:
    late = world.create_appointment(BOB, "late", datetime(2026, 3, 2, 15), datetime(2026, 3, 2, 16))
    early = world.create_appointment(BOB, "early", datetime(2026, 3, 2, 9), datetime(2026, 3, 2, 10))
    world.create_appointment(BOB, "outside", datetime(2026, 3, 2, 16), datetime(2026, 3, 2, 17))
    view = world.calendar_view(BOB, datetime(2026, 3, 2, 9, 30, tzinfo=UTC), datetime(2026, 3, 2, 16, tzinfo=UTC))
    assert [i.item_id for i in view] == [early.item_id, late.item_id]


def test_mailbox_unavailable_for_a_while() -> None:
    clock = SimClock(lambda: NOW)
    world = World(clock)
    world.add_mailbox(BOB, "Bob")
    world.set_mailbox_unavailable(BOB, seconds=30)
    with pytest.raises(MailboxUnavailable):
        world.find_items(BOB)
    assert world.unavailable_mailboxes() == {BOB: "ErrorMailboxStoreUnavailable"}
    clock.advance(30)
    assert world.find_items(BOB) == []
    assert world.unavailable_mailboxes() == {}


def test_find_mailboxes_like_resolve_names(world: World) -> None:
    assert [m.smtp for m in world.find_mailboxes("bo")] == [BOB]
    assert [m.smtp for m in world.find_mailboxes("ALICE@")] == [ALICE]
    assert [m.smtp for m in world.find_mailboxes("SMTP:bob@example.com")] == [BOB]
    assert world.find_mailboxes("zed") == []


def test_reset_forgets_everything_and_invalidates_old_tokens(world: World) -> None:
    world.create_appointment(ALICE, "a", NOW, NOW + timedelta(hours=1))
    folder = world.mailbox(ALICE).calendar_folder_id
    _, state, _ = world.sync_folder_items(folder, None)
    world.gate.server_busy(count=None)
    world.reset()
    assert world.mailboxes() == [] and world.authenticate("svc-trueconf", "S3rvice!") is None
    assert world.gate.settings().server_busy == []
    world.add_mailbox(ALICE, "Alice", "Europe/Berlin")
    with pytest.raises(InvalidSyncStateData):
        world.sync_folder_items(folder, state)


def test_times_exchange_refuses(world: World) -> None:
    with pytest.raises(CalendarEndDateIsEarlierThanStartDate) as backwards:
        world.create_appointment(ALICE, "x", NOW, NOW - timedelta(minutes=1))
    assert backwards.value.response_code == "ErrorCalendarEndDateIsEarlierThanStartDate"
    daily = Recurrence(DailyPattern(), NumberedRecurrence(date(2026, 3, 2), 3))
    with pytest.raises(CalendarDurationIsTooLong) as too_long:
        world.create_appointment(ALICE, "x", NOW, NOW + timedelta(hours=25), recurrence=daily)
    assert too_long.value.response_code == "ErrorCalendarDurationIsTooLong"
    whole_days = world.create_appointment(ALICE, "x", NOW, NOW, all_day=True, recurrence=daily)
    assert whole_days.end - whole_days.start == timedelta(days=1)


def test_transient_mailbox_error_and_a_corrupt_item(world: World) -> None:
    world.set_mailbox_unavailable(BOB, response_code="ErrorInternalServerTransientError")
    with pytest.raises(InternalServerTransientError):
        world.find_items(BOB)
    world.clear_faults()
    item = world.create_appointment(BOB, "broken", NOW, NOW + timedelta(hours=1))
    world.set_item_corrupt(item.item_id)
    with pytest.raises(ItemCorrupt) as info:
        world.get_item(item.item_id)
    assert info.value.response_code == "ErrorItemCorrupt"
    assert [i.item_id for i in world.calendar_view(BOB, NOW, NOW + timedelta(days=1))] == [item.item_id]
    world.set_item_corrupt(item.item_id, corrupt=False)
    assert world.get_item(item.item_id).subject == "broken"
