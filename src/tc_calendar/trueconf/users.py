"""From an attendee's e-mail to a TrueConf user ID.

Exchange knows people by e-mail, TrueConf Server by login. There is no documented server-side search by
e-mail, so the connector pages through ``GET /users`` and keeps an ``email -> user ID`` directory in a cache
(in memory here; the store's ``trueconf_users`` table in production, see :class:`StoreUserCache`). An explicit
``trueconf.userMap`` entry always wins, for people whose TrueConf account carries another address.

The directory is refreshed when an entry is older than ``max_age`` or an address is not found (a new hire),
but not more often than ``min_refresh_interval``, so a meeting full of external guests does not page through
the whole user list on every start. If TrueConf Server cannot be reached the cached entries are used as
they are.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, Protocol, TypeVar

from tc_calendar.addresses import MailboxAddress
from tc_calendar.clocks import WallClock, utc_now
from tc_calendar.trueconf.errors import TrueConfUnavailableError
from tc_calendar.trueconf.models import TrueConfUser

log = logging.getLogger(__name__)



@dataclass(frozen=True, slots=True)
class DirectoryEntry:
    """One e-mail (lower-case) found on TrueConf Server, and when we last saw it there."""

    email: str
    user_id: str
    display_name: str
    refreshed_at: datetime


class UserDirectoryCache(Protocol):
    """Where directory entries are kept between refreshes (and, with the store, between restarts)."""

    async def upsert(self, entries: Sequence[DirectoryEntry]) -> None: ...

    async def lookup(self, emails: Iterable[str]) -> dict[str, DirectoryEntry]:
        """Entries by lower-case e-mail; unknown addresses are absent."""
        ...


class UserSource(Protocol):
    """Anything that lists TrueConf users (the REST client)."""

    def iter_users(self) -> AsyncIterator[TrueConfUser]: ...


class InMemoryUserCache:
    """A :class:`UserDirectoryCache` in a dict; for tests and a connector without a store."""

    def __init__(self) -> None:
        self.entries: dict[str, DirectoryEntry] = {}

    async def upsert(self, entries: Sequence[DirectoryEntry]) -> None:
        for entry in entries:
            self.entries[MailboxAddress(entry.email)] = entry

    async def lookup(self, emails: Iterable[str]) -> dict[str, DirectoryEntry]:
        return {MailboxAddress(e): self.entries[MailboxAddress(e)] for e in emails if MailboxAddress(e) in self.entries}


class TrueConfUserRecord(Protocol):
    """The store's cache row (``tc_calendar.store.TrueConfUser``), seen structurally."""

    @property
    def email(self) -> str: ...
    @property
    def user_id(self) -> str: ...
    @property
    def display_name(self) -> str: ...
    @property
    def refreshed_at(self) -> datetime: ...


R = TypeVar("R", bound=TrueConfUserRecord)


class TrueConfUserStore(Protocol[R]):
    """The two store methods the cache needs."""

    async def upsert_trueconf_users(self, users: Sequence[R]) -> None: ...

    async def lookup_trueconf_users(self, emails: Iterable[str]) -> Mapping[str, R]: ...


class StoreUserCache(Generic[R]):
    """A :class:`UserDirectoryCache` backed by the store's ``trueconf_users`` table.

    ``record`` builds the store's row type (``tc_calendar.store.TrueConfUser``); it is passed in so that
    this module does not import the store.
    """

    def __init__(self, store: TrueConfUserStore[R], record: Callable[[str, str, str, datetime], R]) -> None:
        self._store = store
        self._record = record

    async def upsert(self, entries: Sequence[DirectoryEntry]) -> None:
        await self._store.upsert_trueconf_users(
            [self._record(e.email, e.user_id, e.display_name, e.refreshed_at) for e in entries])

    async def lookup(self, emails: Iterable[str]) -> dict[str, DirectoryEntry]:
        found = await self._store.lookup_trueconf_users(emails)
        return {email: DirectoryEntry(r.email, r.user_id, r.display_name, r.refreshed_at)
                for email, r in found.items()}


def build_directory(users: Iterable[TrueConfUser], now: datetime) -> tuple[list[DirectoryEntry], list[str]]:
    """(entries, ambiguous e-mails) from a user listing.

    Disabled accounts and accounts without e-mail are left out. An e-mail held by two accounts is left out
    too and reported: inviting the wrong person is worse than inviting nobody; ``userMap`` settles it.
    """
    by_email: dict[str, list[TrueConfUser]] = {}
    for user in users:
        email = MailboxAddress(user.email)
        if email and user.is_active and user.id:
            by_email.setdefault(email, []).append(user)
    entries = [DirectoryEntry(email, found[0].id, found[0].display_name, now)
               for email, found in by_email.items() if len(found) == 1]
    ambiguous = sorted(email for email, found in by_email.items() if len(found) > 1)
    return entries, ambiguous


class UserResolver:
    """Maps e-mails to TrueConf user IDs: ``userMap`` first, then the cached directory."""

    def __init__(
        self,
        source: UserSource,
        cache: UserDirectoryCache,
        *,
        explicit: Mapping[str, str] | None = None,
        now: WallClock = utc_now,
        max_age: timedelta = timedelta(hours=24),
        min_refresh_interval: timedelta = timedelta(minutes=5),
        retry_after_failure: timedelta = timedelta(seconds=15),
    ) -> None:
        self._source = source
        self._cache = cache
        self._explicit: dict[str, str] = {MailboxAddress(email): user_id for email, user_id in (explicit or {}).items()}
        self._now = now
        self._max_age = max_age
        self._min_refresh_interval = min_refresh_interval
        self._retry_after_failure = min(retry_after_failure, min_refresh_interval)
        self._last_attempt: datetime | None = None
        self._last_listing: datetime | None = None
        self.ambiguous: list[str] = []
        """E-mails held by more than one TrueConf account at the last refresh."""

    async def refresh(self) -> int:
        """Page through TrueConf's users and store the directory; returns the number of entries."""
        started = self._now()
        # A failed listing may be retried soon (TrueConf Server may be back before the next start); a
        # successful one holds for ``min_refresh_interval``.
        self._last_attempt = started - self._min_refresh_interval + self._retry_after_failure
        users = [user async for user in self._source.iter_users()]
        self._last_attempt = started
        entries, self.ambiguous = build_directory(users, started)
        await self._cache.upsert(entries)
        self._last_listing = started
        if self.ambiguous:
            log.warning("these e-mails belong to more than one TrueConf user and are not mapped; add them to "
                        "trueconf.userMap: %s", ", ".join(self.ambiguous))
        return len(entries)

    async def resolve(self, emails: Iterable[str]) -> dict[str, str]:
        """TrueConf user IDs by lower-case e-mail; addresses with no TrueConf account are absent."""
        wanted: list[str] = list(dict.fromkeys(MailboxAddress(e) for e in emails))
        resolved = {e: self._explicit[e] for e in wanted if e in self._explicit}
        rest = [e for e in wanted if e not in resolved]
        if not rest:
            return resolved
        found = await self._cache.lookup(rest)
        oldest_fresh = self._now() - self._max_age
        incomplete = any(e not in found or found[e].refreshed_at < oldest_fresh for e in rest)
        if incomplete and self._may_refresh():
            try:
                await self.refresh()
                found = await self._cache.lookup(rest)
            except TrueConfUnavailableError as exc:
                log.warning("cannot refresh the TrueConf user directory, using cached entries: %s", exc)
        for email in rest:
            entry = found.get(email)
            if entry is None:
                continue
            if self._last_listing is not None and entry.refreshed_at < self._last_listing:
                continue  # not in our latest listing: the account was deleted or its e-mail changed
            resolved[email] = entry.user_id
        return resolved

    def _may_refresh(self) -> bool:
        return self._last_attempt is None or self._now() - self._last_attempt >= self._min_refresh_interval
