"""The provider boundary: the Protocol a provider implements and the errors the sync loop acts on."""

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime

from tc_calendar.errors import TcCalendarError
from tc_calendar.providers import (
    AuthError,
    CalendarProvider,
    InvalidSyncStateError,
    MailboxError,
    MailboxErrorReason,
    MailboxNotification,
    ProviderError,
    SubscriptionExpiredError,
    ThrottledError,
    TransientError,
)
from tc_calendar.providers.ews_mapping import ItemMappingError
from tc_calendar.records import ItemKind, RemoteItem, SyncBatch, WindowSnapshot
from tc_calendar.sync.window import SyncWindow, WindowRead

ITEM = RemoteItem(
    mailbox="a@corp.example",
    item_id="i1",
    uid="u1",
    kind=ItemKind.SINGLE,
    subject="Standup",
    start=datetime(2026, 6, 1, 9, tzinfo=UTC),
    end=datetime(2026, 6, 1, 9, 15, tzinfo=UTC),
)


class InMemoryProvider:
    """The smallest provider: what a Graph or CalDAV adapter has to offer, no more."""

    window_bound_checkpoint = True
    notifies_subscriptions = False

    def __init__(self, items: Sequence[RemoteItem]) -> None:
        self.items = list(items)

    def throttle_key(self, mailbox: str) -> str:
        return mailbox

    def credential_key(self, mailbox: str) -> str:
        return "fake"

    def partition(self, mailboxes: Sequence[str]) -> list[list[str]]:
        return [list(mailboxes)]

    async def read_window(self, mailbox: str, window: SyncWindow, sync_state: str | None) -> WindowSnapshot:
        return WindowSnapshot(tuple([i async for i in self.initial_items(mailbox, WindowRead.of(window))]), "s1")

    async def initial_items(self, mailbox: str, read: WindowRead) -> AsyncIterator[RemoteItem]:
        for item in self.items:
            if item.mailbox == mailbox and read.wants(item.start, item.end, recurring=item.kind is not ItemKind.SINGLE):
                yield item

    async def sync_changes(self, mailbox: str, sync_state: str | None) -> SyncBatch:
        if sync_state not in (None, "s1"):
            raise InvalidSyncStateError("the sync state is not ours; run a full sync", mailbox=mailbox)
        items = () if sync_state else tuple(i for i in self.items if i.mailbox == mailbox)
        return SyncBatch(mailbox, items, (), "s1", True)

    async def watch(self, mailboxes: Sequence[str]) -> AsyncIterator[MailboxNotification]:
        for mailbox in mailboxes:
            yield MailboxNotification(mailbox)

    async def aclose(self) -> None:
        self.items.clear()


async def test_an_in_memory_provider_satisfies_the_protocol_and_pages_changes() -> None:
    provider = InMemoryProvider([ITEM])
    assert isinstance(provider, CalendarProvider)
    window = SyncWindow(datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 6, 2, tzinfo=UTC))
    assert [i async for i in provider.initial_items("a@corp.example", WindowRead.of(window))] == [ITEM]
    assert (await provider.read_window("a@corp.example", window, None)).items == (ITEM,)
    first = await provider.sync_changes("a@corp.example", None)
    assert (first.items, first.sync_state, first.includes_last) == ((ITEM,), "s1", True)
    assert (await provider.sync_changes("a@corp.example", "s1")).items == ()
    assert [n.mailbox async for n in provider.watch(["a@corp.example"])] == ["a@corp.example"]


def test_provider_errors_name_the_mailbox_and_sort_into_what_the_sync_loop_does() -> None:
    throttled = ThrottledError("Exchange is busy (ErrorServerBusy)", backoff_seconds=12.5, mailbox="a@corp.example")
    assert isinstance(throttled, TransientError) and isinstance(throttled, ProviderError)
    assert isinstance(throttled, TcCalendarError)
    assert (throttled.backoff_seconds, throttled.mailbox) == (12.5, "a@corp.example")
    assert str(throttled) == "a@corp.example: Exchange is busy (ErrorServerBusy)"

    denied = MailboxError(
        "the service account may not impersonate this mailbox; grant it the ApplicationImpersonation role",
        reason=MailboxErrorReason.ACCESS_DENIED,
        mailbox="b@corp.example",
    )
    assert denied.reason is MailboxErrorReason.ACCESS_DENIED and str(denied).startswith("b@corp.example: ")
    assert str(AuthError("the service account's password was rejected")) == (
        "the service account's password was rejected"
    )
    for error in (InvalidSyncStateError("x"), SubscriptionExpiredError("x"), ItemMappingError("x")):
        assert isinstance(error, ProviderError) and not isinstance(error, TransientError)
