"""The one :class:`~tc_calendar.api.ports.MailboxRegistry`: how ``calendar.list`` asks for a mailbox on demand.

With a sync engine in the same process (``tc_calendar run``), the engine answers: it knows the licence limit, so a
mailbox beyond it is answered ``over_limit`` on the very first request, and an address Exchange does not know
``unknown``. Without one (an API serving a store that another process fills), the store remembers the request
(it survives restarts and every node sees it) and reports the state the engine set: ``over_limit`` once the
engine has seen the request.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from tc_calendar.addresses import MailboxAddress
from tc_calendar.api.ports import MailboxInfo, MailboxRequest


class MailboxStore(Protocol):
    async def get_mailbox(self, email: str) -> MailboxInfo | None: ...

    async def register_on_demand_mailbox(self, email: str, provider_index: int = 0) -> bool: ...

    async def list_mailboxes(self) -> Sequence[MailboxInfo]: ...


class MailboxRequester(Protocol):
    """The sync engine's side: admit a mailbox a client asked for, and say where it stands."""

    async def request_mailbox(self, email: str) -> MailboxRequest: ...


class OnDemandRegistry:
    def __init__(self, store: MailboxStore, sync: MailboxRequester | None = None) -> None:
        self._store = store
        self.sync = sync
        """The sync engine, if it runs in this process; replaced when the licence pauses and resumes
        synchronization (a stopped engine does not restart)."""

    async def request_mailbox(self, email: str) -> MailboxRequest:
        address = MailboxAddress(email)
        if self.sync is not None:
            return await self.sync.request_mailbox(address)
        status = await self._store.get_mailbox(address)
        if status is None:
            await self._store.register_on_demand_mailbox(address)
            return "queued"
        state = str(status.state)
        if state == "over_limit":
            return "over_limit"
        if status.last_success_at is not None:
            return "synced"
        return "queued"

    async def list_mailboxes(self) -> Sequence[MailboxInfo]:
        return await self._store.list_mailboxes()
