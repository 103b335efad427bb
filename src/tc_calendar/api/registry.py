"""A :class:`MailboxRegistry` over the store: the default way ``calendar.list`` queues a mailbox on demand.

The store remembers the request (so it survives restarts and is seen by every node); ``on_request`` wakes the
sync engine at once instead of at its next scan. The engine, which knows the licence limit, sets the state
``over_limit`` on mailboxes beyond it; this registry reports that state back to the asking client.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from tc_calendar.api.ports import MailboxInfo, MailboxRequest


class MailboxStore(Protocol):
    async def get_mailbox(self, email: str) -> MailboxInfo | None: ...

    async def register_on_demand_mailbox(self, email: str, provider_index: int = 0) -> bool: ...

    async def list_mailboxes(self) -> Sequence[MailboxInfo]: ...


class StoreMailboxRegistry:
    def __init__(self, store: MailboxStore, on_request: Callable[[str], Awaitable[None]] | None = None) -> None:
        self._store = store
        self._on_request = on_request

    async def request_mailbox(self, email: str) -> MailboxRequest:
        email = email.strip().lower()
        status = await self._store.get_mailbox(email)
        if status is None:
            await self._store.register_on_demand_mailbox(email)
            if self._on_request is not None:
                await self._on_request(email)
            return "queued"
        state = str(status.state)
        if state == "over_limit":
            return "over_limit"
        if status.last_success_at is not None:
            return "synced"
        return "queued"

    async def list_mailboxes(self) -> Sequence[MailboxInfo]:
        return await self._store.list_mailboxes()
