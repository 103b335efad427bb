"""Which mailboxes are synchronized, in which order, and which are over the account limit.

Seed 3.1.4: ``users`` are the mailboxes "forcibly synchronized when the tc_calendar service starts"; seed 1.2:
the free edition synchronizes up to 50 accounts, ``users`` first. Beyond the configured list, the API may ask
for a mailbox on demand (a TrueConf user opens the calendar). The roster is the one place that decides:

* configured ``users`` come first, in the order of the configuration (providers in order, then their users);
* on-demand mailboxes follow in the order they were first requested (the store remembers them across restarts);
* the first ``limit`` of that list are admitted; the rest are *over limit*: they stay known and visible in the
  status with state ``over_limit`` and are admitted as soon as room appears, never silently dropped.

This module is pure: no I/O, no clock. The runner persists registrations and states through the store.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from tc_calendar.addresses import MailboxAddress
from tc_calendar.store.records import MailboxOrigin


class Admission(StrEnum):
    """What :meth:`MailboxRoster.request` did with a requested mailbox."""

    ADMITTED = "admitted"
    """Newly added and within the limit: its initial sync should start."""
    ALREADY_ADMITTED = "already_admitted"
    OVER_LIMIT = "over_limit"


@dataclass(frozen=True, slots=True)
class RosterEntry:
    """One mailbox on the roster; ``provider`` is the index of its ``calendarProviders`` entry."""

    email: str
    origin: MailboxOrigin
    provider: int
    admitted: bool


class MailboxRoster:
    """The ordered list of mailboxes and the account limit that splits it into admitted and over-limit.

    ``configured`` is one sequence of users per provider. ``limit`` ``None`` means no limit.
    """

    def __init__(
        self,
        configured: Sequence[Sequence[str]],
        limit: int | None,
        on_demand: Iterable[str] = (),
    ) -> None:
        if limit is not None and limit < 0:
            raise ValueError(f"account limit must be 0 or more, got {limit}")
        self._limit = limit
        self._order: list[tuple[str, MailboxOrigin, int]] = []
        self._index: dict[str, int] = {}
        self._domains: dict[str, int] = {}
        for provider, users in enumerate(configured):
            for user in users:
                email: str = MailboxAddress(user)
                self._domains.setdefault(email.rpartition("@")[2], provider)
                self._append(email, MailboxOrigin.CONFIG, provider)
        self._provider_count = max(1, len(configured))
        for email in on_demand:
            self._append(MailboxAddress(email), MailboxOrigin.ON_DEMAND, self.provider_for(email))

    @property
    def limit(self) -> int | None:
        return self._limit

    def _append(self, email: str, origin: MailboxOrigin, provider: int) -> bool:
        if email in self._index:
            return False
        self._index[email] = len(self._order)
        self._order.append((email, origin, provider))
        return True

    def provider_for(self, email: str) -> int:
        """An on-demand mailbox goes to the provider that already serves its domain, else to the first one."""
        return self._domains.get(MailboxAddress(email).rpartition("@")[2], 0)

    def _is_admitted(self, position: int) -> bool:
        return self._limit is None or position < self._limit

    def entries(self) -> list[RosterEntry]:
        """Every known mailbox, in priority order."""
        return [
            RosterEntry(email, origin, provider, self._is_admitted(position))
            for position, (email, origin, provider) in enumerate(self._order)
        ]

    def admitted(self) -> list[RosterEntry]:
        return [entry for entry in self.entries() if entry.admitted]

    def over_limit(self) -> list[RosterEntry]:
        return [entry for entry in self.entries() if not entry.admitted]

    def get(self, email: str) -> RosterEntry | None:
        position = self._index.get(MailboxAddress(email))
        if position is None:
            return None
        address, origin, provider = self._order[position]
        return RosterEntry(address, origin, provider, self._is_admitted(position))

    def forget(self, email: str) -> bool:
        """Remove an on-demand mailbox (Exchange does not know it, or nobody asked for it for long); the ones
        after it move up, so one over the limit may be admitted. Config mailboxes stay: True when removed."""
        position = self._index.get(MailboxAddress(email))
        if position is None or self._order[position][1] is not MailboxOrigin.ON_DEMAND:
            return False
        del self._order[position]
        self._index = {address: index for index, (address, _, _) in enumerate(self._order)}
        return True

    def request(self, email: str) -> Admission:
        """Add an on-demand mailbox (if new) and say whether it is within the limit."""
        address = MailboxAddress(email)
        known = self.get(address)
        if known is not None:
            return Admission.ALREADY_ADMITTED if known.admitted else Admission.OVER_LIMIT
        self._append(address, MailboxOrigin.ON_DEMAND, self.provider_for(address))
        entry = self.get(address)
        assert entry is not None
        return Admission.ADMITTED if entry.admitted else Admission.OVER_LIMIT
