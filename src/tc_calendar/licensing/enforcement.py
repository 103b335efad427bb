"""What a licence allows right now: the account limit, and whether synchronization may run. Pure: no I/O, the
moment is passed in.

Seed 1.2: the free edition synchronizes up to 50 accounts and needs the registration server; the standard
edition's limit is the licence's (issued to match the TrueConf Server licence). The rules we chose:

* **Account limit.** Free: 50 (or the licence's, if lower). Standard: the licence's; ``null`` there means no
  limit. Unregistered: as the free edition. ``accountLimit`` in config.json can lower the limit, never raise it.
* **Free edition check-in.** The connector checks in with the registration server every
  :data:`CHECK_IN_INTERVAL`. While the server cannot be reached it keeps working for :data:`GRACE_PERIOD` after
  the last successful contact (the last check-in, or the registration itself), warning at every failed check-in;
  after that, synchronization pauses (the cached calendars are still served) until a check-in succeeds.
* **Unregistered.** The connector runs as the free edition for :data:`GRACE_PERIOD` from its first start, warning
  loudly, so a new installation can be tried and configured; then synchronization pauses until it is registered.
* **Standard edition.** No check-in. Synchronization pauses when the licence expires.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from tc_calendar.licensing.licence import Edition, Licence

FREE_ACCOUNT_LIMIT = 50
GRACE_PERIOD = timedelta(days=7)
CHECK_IN_INTERVAL = timedelta(hours=1)


class Standing(StrEnum):
    """Where the installation stands with its licence."""

    LICENSED = "licensed"
    """A valid licence, and (free edition) a recent check-in: synchronization runs."""
    GRACE = "grace"
    """Free edition without a recent check-in, or unregistered, within the grace period: runs, with warnings."""
    PAUSED = "paused"
    """Grace period over, or licence expired: synchronization is paused until the situation is fixed."""


@dataclass(frozen=True, slots=True)
class LicenceStatus:
    """The decision, with a one-line ``message`` for the log and ``tc_calendar status``."""

    edition: Edition
    registered: bool
    standing: Standing
    account_limit: int | None
    grace_ends: datetime | None
    message: str

    @property
    def sync_allowed(self) -> bool:
        return self.standing is not Standing.PAUSED


def effective_account_limit(licence: Licence | None, configured: int | None) -> int | None:
    """How many mailboxes may be synchronized: the edition's limit, lowered by ``accountLimit`` if set."""
    if licence is None or licence.edition is Edition.FREE:
        limits = [FREE_ACCOUNT_LIMIT]
        if licence is not None and licence.account_limit is not None:
            limits.append(licence.account_limit)
    else:
        limits = [licence.account_limit] if licence.account_limit is not None else []
    if configured is not None:
        limits.append(configured)
    return min(limits) if limits else None


def decide(
    licence: Licence | None,
    *,
    now: datetime,
    first_started: datetime,
    last_check_in: datetime | None,
    configured_limit: int | None = None,
    grace: timedelta = GRACE_PERIOD,
) -> LicenceStatus:
    """The licence status at ``now``.

    ``first_started`` is when this installation first ran (the unregistered grace counts from it);
    ``last_check_in`` the last successful check-in of the free edition, if any.
    """
    limit = effective_account_limit(licence, configured_limit)
    accounts = f"{limit} accounts" if limit is not None else "no account limit"
    if licence is None:
        ends = first_started + grace
        if now < ends:
            return LicenceStatus(Edition.FREE, False, Standing.GRACE, limit, ends,
                                 f"the product is not registered: running as the free edition ({accounts}) until "
                                 f"{_day(ends)}; register it with tc_calendar --register KEY")
        return LicenceStatus(Edition.FREE, False, Standing.PAUSED, limit, ends,
                             f"the product is not registered and its trial period ended on {_day(ends)}: "
                             f"synchronization is paused; register it with tc_calendar --register KEY")
    if licence.expires_at is not None and now >= licence.expires_at:
        return LicenceStatus(licence.edition, True, Standing.PAUSED, limit, None,
                             f"the {licence.edition} licence expired on {_day(licence.expires_at)}: synchronization "
                             f"is paused; renew it with tc_calendar --register KEY")
    if licence.edition is Edition.STANDARD:
        until = f", valid until {_day(licence.expires_at)}" if licence.expires_at else ""
        return LicenceStatus(licence.edition, True, Standing.LICENSED, limit, None,
                             f"standard edition ({accounts}){until}")
    contact = max(licence.issued_at, last_check_in) if last_check_in is not None else licence.issued_at
    ends = contact + grace
    if now < contact + CHECK_IN_INTERVAL * 2:
        return LicenceStatus(licence.edition, True, Standing.LICENSED, limit, ends, f"free edition ({accounts})")
    if now < ends:
        return LicenceStatus(licence.edition, True, Standing.GRACE, limit, ends,
                             f"free edition ({accounts}): the registration server has not been reached since "
                             f"{_day(contact)}; synchronization pauses on {_day(ends)} unless it can be reached "
                             f"(TCP port 4310)")
    return LicenceStatus(licence.edition, True, Standing.PAUSED, limit, ends,
                         f"free edition: the registration server has not been reached since {_day(contact)} and the "
                         f"grace period ended on {_day(ends)}: synchronization is paused until it can be reached "
                         f"(TCP port 4310)")


def _day(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M %Z").strip()
